"""Imported NotaGen and TunesFormer/EMusicGen checkpoints compute what the sources compute.

The reference side is transformers' GPT-2 in the sources' composition (`source_reference`),
at two tiny shapes per format, saved in the sources' checkpoint layout and imported with
`musegen_cli.model_import`; nothing is downloaded.
"""

from __future__ import annotations

import math

import pytest
import torch
from musegen_plugins.abc_transformer.inference import load, training_log_prob
from musegen_plugins.abc_transformer.notagen_format import NotaGenFormat
from musegen_plugins.abc_transformer.tunesformer_format import TunesFormerFormat

from musegen_cli.errors import UserError
from musegen_cli.model_import import import_checkpoint
from musegen_cli.registry import discover
from tests.plugins.abc_transformer import source_reference as ref

SHAPES = {
    "notagen": [ref.Shape(16, 64, 2, 1, 64), ref.Shape(16, 128, 3, 2, 48)],
    "tunesformer": [ref.Shape(32, 64, 2, 1, 40), ref.Shape(32, 128, 3, 2, 24)],
}
CASES = [(source, shape) for source, shapes in SHAPES.items() for shape in shapes]
NOTAGEN_PIECE = """%Romantic
%Chopin, Frederic
%Keyboard
%%score { 1 | 2 }
L:1/8
Q:1/4=60
M:3/4
K:Eb
V:1 treble nm="Piano" snm="Pno."
V:2 bass
[V:1]"^Andante" B2 G2 E2|[V:2]E,,2 B,,2 G,,2|
[V:1]c4 (3BcB|[V:2]A,,6|
[V:1]B6|][V:2]E,,6|]
"""
TUNESFORMER_PIECE = """X:1
A:Q1
S:2
B:4
E:5
L:1/8
M:6/8
K:D
|:A|dfa afd|gfe dcB|AFA dFA|BGE E2:|
|:g|fdf ece|dBd cAc|BGB AFA|GEE E2:|
"""


def _pieces(source: str) -> str:
    return NOTAGEN_PIECE if source == "notagen" else TUNESFORMER_PIECE


def _format(source: str):
    return NotaGenFormat() if source == "notagen" else TunesFormerFormat()


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-h{c[1].hidden}-l{c[1].patch_layers}")
def imported(request, tmp_path_factory):
    source, shape = request.param
    folder = tmp_path_factory.mktemp(f"{source}-{shape.hidden}")
    model = ref.build(source, shape)
    checkpoint = ref.save_checkpoint(model, folder / "weights.pth")
    import_checkpoint(checkpoint, source, folder / "imported", discover(environ={}))
    return source, shape, model, load(folder / "imported")


def test_import_infers_the_shape_from_the_state_dict(imported):
    source, shape, _, loaded = imported
    c = loaded.model.config
    assert (c.patch_size, c.patch_hidden, c.patch_layers, c.char_layers, c.max_patches) == (
        shape.patch_size,
        shape.hidden,
        shape.patch_layers,
        shape.char_layers,
        shape.max_patches,
    )
    assert c.patch_heads == c.char_heads == shape.hidden // 64
    assert c.char_positions == shape.patch_size + (1 if source == "notagen" else 0)
    assert c.bias and c.tied_head and c.text_format == source


def test_logits_and_loss_match_the_source(imported):
    source, shape, model, loaded = imported
    fmt = _format(source)
    patches = torch.tensor(fmt.encode(fmt.scored_text(_pieces(source), {}), shape.patch_size, shape.max_patches))
    loss, scored, reference_logits = ref.loss_and_logits(source, model, patches)
    with torch.no_grad():
        logits = loaded.model.logits(patches[None])[0]
    scored_at = patches[1:, loaded.model.config.spell_offset :] != 0  # where a character is predicted
    assert torch.allclose(logits[scored_at], reference_logits[scored_at], atol=1e-5, rtol=1e-5)
    [(logprob, chars)] = training_log_prob(loaded, [_pieces(source)])
    assert chars == scored
    assert logprob == pytest.approx(-loss * scored, rel=1e-5)


def test_cached_steps_give_the_sources_next_character_probabilities(imported):
    source, shape, model, loaded = imported
    fmt = _format(source)
    patches = torch.tensor(fmt.encode(fmt.scored_text(_pieces(source), {}), shape.patch_size, shape.max_patches))[:6]
    net = loaded.model
    written = [ord(c) for c in "[V:1]B"]
    cache = net.new_cache("patch", 1)
    with torch.inference_mode():
        states = net.prefill(patches[None], torch.tensor([len(patches)]), cache)
        char_cache = net.new_cache("char", 1)
        logits = net.first_char(states, char_cache)
        for token in written:
            logits = net.next_char(torch.tensor([token]), char_cache)
    expected = ref.next_char_probs(source, model, patches, written)
    assert torch.allclose(logits.softmax(-1)[0], expected, atol=1e-5)


def test_importing_twice_gives_identical_files(tmp_path):
    model = ref.build("notagen", SHAPES["notagen"][0])
    checkpoint = ref.save_checkpoint(model, tmp_path / "w.pth")
    for out in ("a", "b"):
        import_checkpoint(checkpoint, "notagen", tmp_path / out, discover(environ={}))
    for name in ("model.safetensors", "musegen.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    import hashlib
    import json

    manifest = json.loads((tmp_path / "a" / "musegen.json").read_text())
    assert manifest["provenance"]["imported_from"] == {
        "format": "notagen",
        "file": "w.pth",
        "sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
    }


def _refused(tmp_path, checkpoint, source: str = "notagen") -> str:
    with pytest.raises(UserError) as caught:
        import_checkpoint(checkpoint, source, tmp_path / "out", discover(environ={}))
    assert not (tmp_path / "out").exists()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_pickle_with_code_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pth"
    torch.save({"model": {}, "extra": Payload()}, path)
    assert "refusing to unpickle" in _refused(tmp_path, path)
    assert not marker.exists()


def test_a_truncated_file_is_refused(tmp_path):
    good = ref.save_checkpoint(ref.build("notagen", SHAPES["notagen"][0]), tmp_path / "w.pth")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert "truncated or damaged" in _refused(tmp_path, cut)


def test_the_other_sources_checkpoint_is_named(tmp_path):
    path = ref.save_checkpoint(ref.build("tunesformer", SHAPES["tunesformer"][0]), tmp_path / "t.pth")
    assert "looks like a TunesFormer/EMusicGen checkpoint" in _refused(tmp_path, path, "notagen")


def test_missing_extra_and_misshapen_tensors_are_refused(tmp_path):
    state = ref.build("notagen", SHAPES["notagen"][0]).state_dict()
    missing = {k: v for k, v in state.items() if "h.1.mlp.c_fc.bias" not in k}
    torch.save({"model": missing}, tmp_path / "m.pth")
    assert "lacks patch_decoder.blocks.1.mlp.0.bias" in _refused(tmp_path, tmp_path / "m.pth")
    torch.save({"model": {**state, "patch_level_decoder.base.h.0.attn.rotary": torch.zeros(3)}}, tmp_path / "e.pth")
    assert "rotary" in _refused(tmp_path, tmp_path / "e.pth")
    bent = dict(state)
    bent["char_level_decoder.base.transformer.h.0.mlp.c_proj.weight"] = torch.zeros(64, 64)
    torch.save({"model": bent}, tmp_path / "s.pth")
    assert "shape [64, 64]" in _refused(tmp_path, tmp_path / "s.pth")
    torch.save({"model": {"encoder.weight": torch.zeros(2, 2)}}, tmp_path / "o.pth")
    assert "another architecture" in _refused(tmp_path, tmp_path / "o.pth")


def test_old_transformers_mask_buffers_are_accepted(tmp_path):
    state = ref.build("notagen", SHAPES["notagen"][0]).state_dict()
    state["patch_level_decoder.base.h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 64, 64, dtype=torch.bool))
    state["patch_level_decoder.base.h.0.attn.masked_bias"] = torch.tensor(-1e4)
    torch.save({"model": state}, tmp_path / "w.pth")
    import_checkpoint(tmp_path / "w.pth", "notagen", tmp_path / "out", discover(environ={}))


def test_notagen_patches_follow_its_layout():
    fmt = NotaGenFormat()
    patches = fmt.encode(NOTAGEN_PIECE, 16, 1024)
    text = ["".join(chr(i) for i in p) for p in patches]
    assert patches[0] == [1] * 15 + [2] and patches[-1] == [1] + [2] * 15
    assert text[1] == "%Romantic\n\x02" + "\x00" * 5
    # a body line is prefixed with its stream position, and cut into bars at bar lines
    body = "".join(t.rstrip("\x00") for t in text[1:-1]).replace("\x02", "")
    assert '[r:0/2][V:1]"^Andante" B2 G2 E2|[V:2]E,,2 B,,2 G,,2|\n[r:1/1][V:1]c4' in body
    assert all(len(p) == 16 for p in patches)


def test_tunesformer_patches_follow_its_layout():
    fmt = TunesFormerFormat()
    patches = fmt.encode(fmt.scored_text(TUNESFORMER_PIECE, {}), 32, 1024)
    texts = [fmt.patch_text(p) for p in patches]
    assert patches[0] == [1] * 31 + [2] and patches[-1] == [1] + [2] * 31
    assert texts[1:4] == ["A:Q1\n", "S:2\n", "B:4\n"]  # the X: line is not part of the text
    assert texts[8:10] == ["|:A|", "dfa afd|"]
    assert all(p[0] == 1 for p in patches[1:-1])


@pytest.mark.parametrize("source", ["notagen", "tunesformer"])
def test_the_cached_sampler_writes_what_the_uncached_loop_writes(imported, source):
    if imported[0] != source or imported[1].hidden != 64:
        pytest.skip("one shape per format")
    from musegen_plugins.abc_transformer.sampling import SamplingConfig, generate

    loaded = imported[3]
    prompt = _format(source).prompt({}, None) or ""
    config = SamplingConfig(
        temperature=1.2, top_k=9, top_p=0.9, max_patches=12, filter_order=_format(source).filter_order
    )
    runs = [
        generate(loaded.model, [prompt, prompt], config, torch.Generator().manual_seed(3), use_cache=cached)
        for cached in (True, False)
    ]
    assert runs[0] == runs[1]
    assert any(c.text for c in runs[0])


def test_log_probabilities_and_conditions_on_an_imported_model(imported):
    from musegen_cli.contract import GenerateRequest

    source, _, _, loaded = imported
    if source == "notagen":
        conditions = {"period": "Romantic", "composer": "Chopin, Frederic", "instrumentation": "Keyboard"}
        with pytest.raises(UserError, match="knows no prompt"):
            loaded.generate(
                GenerateRequest(conditions={**conditions, "composer": "Bach, Johann Sebastian"}, count=1, seed=1)
            )
    else:
        conditions = {"emotion": "Q3"}
    with pytest.raises(UserError, match="does not accept the condition 'tempo'"):
        loaded.generate(GenerateRequest(conditions={"tempo": "fast"}, count=1, seed=1))
    [score] = loaded_log_prob = __import__("musegen_plugins.abc_transformer.inference", fromlist=["log_prob"]).log_prob(
        loaded, [_pieces(source)], [conditions]
    )
    assert math.isfinite(score) and score < 0 and loaded_log_prob
    pieces = loaded.generate(GenerateRequest(conditions=conditions, count=2, seed=5, max_bars=2))
    assert len(pieces) == 2 and all(p.startswith("X:1\n") for p in pieces)
    assert all("[r:" not in p and "\nA:" not in p for p in pieces)
