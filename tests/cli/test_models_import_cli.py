"""`musegen models import`, then the imported model through generate and `score --logprob`."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from tests.plugins.abc_transformer import source_reference as ref
from tests.plugins.abc_transformer.test_imported_models import NOTAGEN_PIECE, TUNESFORMER_PIECE

SHAPES = {"notagen": ref.Shape(16, 64, 2, 1, 64), "tunesformer": ref.Shape(32, 64, 2, 1, 40)}


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module", params=sorted(SHAPES))
def checkpoint(request, tmp_path_factory):
    source = request.param
    model = ref.build(source, SHAPES[source])
    return source, model, ref.save_checkpoint(model, tmp_path_factory.mktemp(source) / "weights.pth")


def test_import_then_generate_and_score(checkpoint, tmp_path):
    source, model, path = checkpoint
    result = run("models", "import", path, "--from", source, "--name", f"mine-{source}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"] == source
    listed = json.loads(run("models", "--json").stdout)
    assert f"mine-{source}" in {m["name"] for m in listed}

    conditions = (
        ["--period", "Classical", "--composer", "Beethoven, Ludwig van", "--instrumentation", "Keyboard"]
        if source == "notagen"
        else ["--emotion", "Q2"]
    )
    result = run("generate", "--model", f"mine-{source}", *conditions, "--bars", "2", "--seed", "3", "--json")
    assert result.exit_code == 0, result.output

    piece = tmp_path / "piece.abc"
    piece.write_text(NOTAGEN_PIECE if source == "notagen" else TUNESFORMER_PIECE)
    result = run("score", piece, "--logprob", "--model", f"mine-{source}", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    fmt_text = ref_text = piece.read_text()
    from musegen_plugins.abc_transformer.notagen_format import NotaGenFormat
    from musegen_plugins.abc_transformer.tunesformer_format import TunesFormerFormat

    fmt = NotaGenFormat() if source == "notagen" else TunesFormerFormat()
    shape = SHAPES[source]
    ids = torch.tensor(fmt.encode(fmt.scored_text(fmt_text, {}), shape.patch_size, shape.max_patches))
    loss, scored, _ = ref.loss_and_logits(source, model, ids)
    assert row["chars"] == scored and ref_text
    assert row["logprob"] == pytest.approx(-loss * scored, rel=1e-4)
    assert row["bits_per_char"] == pytest.approx(loss / 0.6931471805599453, rel=1e-4)


@pytest.mark.parametrize("case", ["evil", "missing", "wrong-format", "no-target"])
def test_bad_checkpoints_fail_with_one_line_and_write_nothing(case, tmp_path):
    path = tmp_path / "c.pth"
    args = ["--from", "notagen", "-o", tmp_path / "out"]
    if case == "evil":
        torch.save({"model": {}, "code": torch.nn.Linear(2, 2)}, path)
    elif case == "wrong-format":
        ref.save_checkpoint(ref.build("notagen", SHAPES["notagen"]), path)
        args = ["--from", "midi-lm", "-o", tmp_path / "out"]
    elif case == "no-target":
        ref.save_checkpoint(ref.build("notagen", SHAPES["notagen"]), path)
        args = ["--from", "notagen"]
    result = run("models", "import", path, *args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_tunesformer_form_conditions_through_generate(checkpoint, tmp_path):
    source, _, path = checkpoint
    if source != "tunesformer":
        pytest.skip("form codes are TunesFormer's")
    assert run("models", "import", path, "--from", source, "-o", tmp_path / "m").exit_code == 0
    form = ["-c", "sections=2", "-c", "section_bars=4", "-c", "similarity=5"]
    result = run("generate", "--model", tmp_path / "m", "--emotion", "Q1", *form, "--bars", "2", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("X:1\n") and not any(
        line[:2] in ("A:", "S:", "B:", "E:") for line in result.stdout.splitlines()
    )
    result = run("generate", "--model", tmp_path / "m", "-c", "sections=2", "-c", "section_bars=4,4,4")
    assert result.exit_code == 2 and "lists 3 sections but sections is 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def imported_notagen(checkpoint, tmp_path):
    """The checkpoint imported into tmp_path/m; skips the test for a TunesFormer checkpoint
    (voice interleaving is NotaGen's)."""
    source, _, path = checkpoint
    if source != "notagen":
        pytest.skip("interleaved voices are NotaGen's")
    assert run("models", "import", path, "--from", source, "-o", tmp_path / "m").exit_code == 0
    return tmp_path / "m"


def test_a_multi_voice_prime_on_an_imported_notagen_model(checkpoint, tmp_path):
    from tests.plugins.abc_transformer.test_notagen_data import PIANO

    imported_notagen(checkpoint, tmp_path)
    prime = tmp_path / "prime.abc"
    prime.write_text(PIANO)
    result = run("generate", "--model", tmp_path / "m", "--prime", prime, "--bars", "2", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "[r:" not in result.stdout
    assert '[V:1]"^Andante" B2 G2 E2|[V:2]E,,2 B,,2 G,,2|\n[V:1]c4 (3BcB|[V:2]Z|\n' in result.stdout
    prime.write_text("K:C\nV:1\nab|cd|\nV:2\nAB|\n")
    result = run("generate", "--model", tmp_path / "m", "--prime", prime)
    assert result.exit_code == 2 and "different numbers of bars" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_multi_voice_piece_is_scored_in_notagens_layout(checkpoint, tmp_path):
    from tests.plugins.abc_transformer.test_notagen_data import INTERLEAVED, PIANO

    imported_notagen(checkpoint, tmp_path)
    (tmp_path / "blocks.abc").write_text(PIANO)
    (tmp_path / "interleaved.abc").write_text(INTERLEAVED)
    result = run(
        "score", tmp_path / "blocks.abc", tmp_path / "interleaved.abc", "--logprob", "--model", tmp_path / "m", "--json"
    )
    assert result.exit_code == 0, result.output
    blocks, interleaved = json.loads(result.stdout)
    assert blocks["chars"] == interleaved["chars"] and blocks["logprob"] == pytest.approx(interleaved["logprob"])
