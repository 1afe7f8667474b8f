from dataclasses import replace

import pytest
import torch

from musegen_plugins.abc_transformer.model import PRESETS, AbcTransformer
from musegen_cli.notation.abc_patches import END, TEXT_IDS, encode, ends_bar
from musegen_plugins.abc_transformer.sampling import (
    Completion,
    SamplingConfig,
    choose_tokens,
    final_bar_line,
    generate,
    stream,
)

PROMPTS = ["X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n|:A2FA DAFA|", "", "X:2\nK:G\n"]


def _rigged_model(token: int) -> AbcTransformer:
    """A model whose character decoder always prefers ``token`` (where the grammar allows it)."""
    torch.manual_seed(0)
    model = AbcTransformer(PRESETS["debug"]).eval()
    with torch.no_grad():
        model.char_decoder.norm.weight.zero_()
        model.char_decoder.norm.bias.fill_(1.0)
        model.head.weight.zero_()
        model.head.weight[token] = 1.0
    return model


@pytest.mark.parametrize(
    "config",
    [
        SamplingConfig(temperature=0),
        SamplingConfig(temperature=1e-8),
        SamplingConfig(temperature=1e-45),
        SamplingConfig(temperature=1e4),
        SamplingConfig(top_p=0.0),
        SamplingConfig(top_p=1e-9),
        SamplingConfig(top_k=1),
        SamplingConfig(top_k=10_000, top_p=0.5, temperature=3.0),
    ],
)
def test_choose_tokens_is_safe(config):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 128, generator=generator) * 30
    logits[:, :40] = float("-inf")  # impossible tokens, as the grammar mask makes them
    logits[0, 50:] = 7.0  # a row of ties
    for _ in range(5):
        tokens = choose_tokens(logits, config, generator)
        assert torch.isfinite(logits.gather(1, tokens[:, None])).all()
    greedy = config.temperature <= 1e-8 or config.top_k == 1 or config.top_p <= 1e-9
    if greedy:
        assert (tokens[1:] == logits[1:].argmax(-1)).all()


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_choose_tokens_draws_each_token_with_its_probability(temperature):
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, float("-inf")]])
    expected = (logits / temperature).softmax(-1)[0]
    generator = torch.Generator().manual_seed(3)
    draws = 20_000
    tokens = choose_tokens(logits.expand(draws, -1), SamplingConfig(temperature=temperature), generator)
    share = torch.bincount(tokens, minlength=5).float() / draws
    # Four standard errors of a binomial share at these counts: about 0.014 at p = 0.5.
    assert torch.allclose(share, expected, atol=4 * (0.25 / draws) ** 0.5)
    assert share[4] == 0
    again = choose_tokens(logits.expand(draws, -1), SamplingConfig(temperature=temperature),
                          torch.Generator().manual_seed(3))
    assert torch.equal(tokens, again)


@pytest.mark.parametrize(
    "kwargs", [{"temperature": -1}, {"temperature": float("nan")}, {"temperature": float("inf")},
               {"top_k": -1}, {"top_p": 1.5}, {"max_patches": 0}, {"max_chars": 0}, {"max_bars": 0}]
)
def test_sampling_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        SamplingConfig(**kwargs)


@pytest.mark.parametrize("prompts", [PROMPTS[:1], PROMPTS], ids=["batch1", "batch3"])
def test_cached_and_uncached_generation_agree(prompts):
    torch.manual_seed(0)
    model = AbcTransformer(replace(PRESETS["debug"], max_patches=24)).eval()
    config = SamplingConfig(temperature=1.5, top_k=60, top_p=0.95)
    results = [
        generate(model, prompts, config, torch.Generator().manual_seed(7), use_cache=cache)
        for cache in (True, False)
    ]
    assert results[0] == results[1]
    assert all(r.finish in ("end", "length") for r in results[0])
    # Rows of different prompt lengths reach the context limit after different numbers of patches.
    if len(prompts) > 1:
        assert len({len(r.text) for r in results[0]}) > 1


def test_generated_text_stays_in_alphabet(tiny_model):
    for config in (SamplingConfig(temperature=1e4, max_patches=20), SamplingConfig(temperature=0, max_patches=20)):
        for result in generate(tiny_model, PROMPTS, config, torch.Generator().manual_seed(0)):
            assert all(ord(c) in TEXT_IDS for c in result.text)


def test_stops_at_end_patch():
    model = _rigged_model(END)
    results = generate(model, PROMPTS, SamplingConfig(temperature=0))
    assert [(r.text, r.finish) for r in results] == [("", "end")] * 3


def test_respects_patch_char_and_context_limits():
    model = _rigged_model(ord("a"))  # never closes a patch, never ends the piece
    by_patches = generate(model, PROMPTS, SamplingConfig(temperature=0, max_patches=5))
    # The first prompt's last patch already holds 12 characters, so its first new patch adds 4.
    assert [r.text for r in by_patches] == ["a" * (4 + 16 * 4), "a" * 16 * 5, "a" * 16 * 5]
    assert {r.finish for r in by_patches} == {"length"}

    by_chars = generate(model, [""], SamplingConfig(temperature=0, max_chars=40))
    assert by_chars[0].text == "a" * 48  # checked at patch ends

    context = model.config.max_patches
    prompt_patches = len(encode(PROMPTS[2], 16, add_end=False))
    by_context = generate(model, PROMPTS[2:], SamplingConfig(temperature=0))
    assert by_context[0].text == "a" * 16 * (context - prompt_patches) and by_context[0].finish == "length"


def test_respects_bar_limit():
    model = _rigged_model(ord("|"))  # every patch is full of bar lines
    result = generate(model, ["X:1\nK:G\n"], SamplingConfig(temperature=0, max_bars=3))[0]
    assert (result.text, result.finish) == ("|" * 16 * 3, "length")


def test_unfinished_prompt_patch_is_continued():
    model = _rigged_model(ord("a"))
    first = next(stream(model, ["X:1\nK:G\nGAB"], SamplingConfig(temperature=0, max_patches=1)))
    assert first.text == "a" * 13  # the patch already held "GAB"


def test_stream_yields_patches_in_order(tiny_model):
    config = SamplingConfig(max_patches=6)
    events = list(stream(tiny_model, PROMPTS, config, torch.Generator().manual_seed(3)))
    results = generate(tiny_model, PROMPTS, config, torch.Generator().manual_seed(3))
    for row, result in enumerate(results):
        mine = [e for e in events if e.row == row]
        assert "".join(e.text for e in mine) == result.text
        assert all(e.finish is None for e in mine[:-1]) and mine[-1].finish == result.finish


def test_stream_rejects_bad_requests(tiny_model):
    with pytest.raises(ValueError, match="patches"):
        stream(tiny_model, ["X:1\n" * 300])
    with pytest.raises(ValueError, match="prompts"):
        stream(tiny_model, [])
    with pytest.raises(ValueError, match="eval"):
        stream(tiny_model.train(), [""])


def test_bf16_generation_is_valid(tiny_model):
    model = tiny_model.to(torch.bfloat16)
    for result in generate(model, PROMPTS, SamplingConfig(max_patches=8), torch.Generator().manual_seed(0)):
        assert all(ord(c) in TEXT_IDS for c in result.text)


def test_tiny_model_overfits_one_tune():
    tune = "X:1\nT:Tiny\nM:2/4\nK:G\n|:GA Bc|d2 B2|cA FA|G4:|\n"
    torch.manual_seed(0)
    model = AbcTransformer(replace(PRESETS["debug"], patch_hidden=64, char_hidden=64))
    patches = torch.tensor([encode(tune, 16)])
    mask = torch.ones(patches.shape[:2])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss = model(patches, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    result = generate(model.eval(), [""], SamplingConfig(temperature=0))[0]
    assert (result.text, result.finish) == (tune, "end")
    completion = generate(model, ["X:1\nT:Tiny\nM:2/4\nK:G\n|:GA B"], SamplingConfig(temperature=0))[0]
    assert completion.text == "c|d2 B2|cA FA|G4:|\n"


def test_bar_retries_write_fewer_bars_that_do_not_fit_the_meter():
    """With the bundled (trained) model: the same prompts and seed, with and without retries."""
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.notation.abc_patches import split_units
    from musegen_cli.notation.bar_check import BarCheck
    from musegen_plugins.abc_transformer.family import bundled_models
    from musegen_plugins.abc_transformer.inference import load

    model = load(bundled_models()["default"])

    def misfits(retries: int) -> int:
        request = GenerateRequest(conditions={"emotion": "Q1"}, count=6, seed=11, max_bars=8,
                                  sampling={"top_p": 0.95, "bar_retries": retries})
        count = 0
        for piece in model.generate(request):
            check = BarCheck()
            for unit in split_units(piece):
                count += not check.fits(unit)
                check.add(unit)
        return count

    assert misfits(6) < misfits(0)


def test_rewritten_bars_agree_with_and_without_the_cache(monkeypatch):
    """A bar longer than one patch that does not fit is written again from its first patch:
    the cache rewinds to that patch, and the reference loop, which recomputes everything,
    must write the same piece."""
    from musegen_plugins.abc_transformer import sampling
    from musegen_plugins.abc_transformer.family import bundled_models
    from musegen_plugins.abc_transformer.inference import load

    rewinds = []
    original = sampling._Row.rewind
    monkeypatch.setattr(sampling._Row, "rewind", lambda row: rewinds.append(list(row.held)) or original(row))
    model = load(bundled_models()["default"]).model
    prompts = ["X:1\nM:3/4\nL:1/16\nK:D\n", "X:1\nM:C|\nL:1/8\nK:G\n"]
    config = SamplingConfig(top_p=0.95, max_bars=8, bar_retries=8)
    cached, uncached = (generate(model, prompts, config, torch.Generator().manual_seed(1), use_cache=cache)
                        for cache in (True, False))
    assert cached == uncached
    assert rewinds and all(held for held in rewinds)  # whole bars were written again


def test_a_rewritten_bar_leaves_no_trace_in_the_stream():
    from musegen_cli.notation.bar_check import BarCheck
    from musegen_plugins.abc_transformer.sampling import _Row

    row = _Row(prompt_patches=3, check=BarCheck(), patches=4, chars=40, bars=2,
               held=["abc", "def|"], unit_state=torch.zeros(2), tries_left=1)
    row.check.pending = "abc"
    assert row.can_rewrite() and row.rewind() == 3 + 2
    assert (row.patches, row.chars, row.bars, row.held, row.check.pending) == (2, 33, 1, [], "")
    assert not row.can_rewrite()  # the unit's tries are spent


def test_a_tune_that_cannot_fit_its_next_bar_ends_at_its_section_end():
    """A model that only writes `c` overflows every bar: after a section end the tune stops
    there; elsewhere the least bad try is kept."""
    model = _rigged_model(ord("c"))
    config = SamplingConfig(temperature=0, max_patches=3, bar_retries=1)
    after_section, mid_section = generate(model, ["X:1\nM:2/4\nL:1/8\nK:G\nG4:|", "X:1\nM:2/4\nL:1/8\nK:G\nG4|"],
                                          config)
    assert (after_section.text, after_section.finish) == ("", "end")
    assert after_section.text != mid_section.text and "c" in mid_section.text


def test_the_section_end_fallback_never_ends_a_piece_below_min_bars():
    """Out of tries at a section end before ``min_bars``, the piece goes on (its least bad bar
    is kept, so the strict piece check sends it back to be written again) instead of ending."""
    model = _rigged_model(ord("c"))
    config = SamplingConfig(temperature=0, max_patches=3, bar_retries=1, min_bars=4)
    short = generate(model, ["X:1\nM:2/4\nL:1/8\nK:G\nG4:|"], config)[0]
    assert short.text and short.finish == "length" and "c" in short.text


def _preferring(first: int, second: int) -> AbcTransformer:
    """A model that prefers ``first`` and, where that is not allowed, ``second``."""
    model = _rigged_model(first)
    with torch.no_grad():
        model.head.weight[second] = 0.5
    return model


def test_no_end_patch_before_min_bars():
    model = _preferring(END, ord("|"))
    assert generate(model, ["X:1\nK:G\n"], SamplingConfig(temperature=0))[0] == Completion("", "end")
    held = generate(model, ["X:1\nK:G\n"], SamplingConfig(temperature=0, min_bars=2))[0]
    assert held == Completion("|" * 16 * 2, "end")  # two patches of bar lines, then the end


def test_past_end_bars_a_piece_ends_at_its_next_section_end():
    model = _rigged_model(ord("|"))  # `||` closes a section
    result = generate(model, ["X:1\nK:G\n"], SamplingConfig(temperature=0, end_bars=2, max_bars=5))[0]
    assert result == Completion("|" * 16 * 2, "end")


@pytest.mark.parametrize("text,mended", [("abc|", "abc|]"), ("abc |\n", "abc |]\n"), ("abc:|", "abc:|"),
                                         ("abc||", "abc||"), ("abc|]", "abc|]"), ("abc", "abc")])
def test_a_piece_cut_after_a_plain_bar_line_gets_a_final_one(text, mended):
    assert final_bar_line(text) == mended


def test_the_bar_band_is_exact_when_asked_for_and_bounded_otherwise():
    from musegen_plugins.abc_transformer.inference import DEFAULT_BAR_BAND, AbcModel

    assert AbcModel._bar_band(16) == {"min_bars": 16, "end_bars": 16, "max_bars": 16}
    low, end, cap = DEFAULT_BAR_BAND
    assert AbcModel._bar_band(None) == {"min_bars": low, "end_bars": end, "max_bars": cap} and low < end < cap


def test_every_piece_has_a_title_and_the_bars_asked_for():
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.notation.abc_patches import split_units
    from musegen_plugins.abc_transformer.family import bundled_models
    from musegen_plugins.abc_transformer.inference import load

    model = load(bundled_models()["default"])
    request = GenerateRequest(conditions={"emotion": "Q3"}, count=2, seed=4, max_bars=5,
                              sampling={"top_p": 0.95, "bar_retries": 4})
    for piece in model.generate(request):
        lines = piece.splitlines()
        assert lines[1].startswith("T:") and " in " in lines[1], lines[:2]
        body = piece.split("\nK:", 1)[1].split("\n", 1)[1]
        assert sum(ends_bar(unit) for unit in split_units(body)) == 5
