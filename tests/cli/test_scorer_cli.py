"""`musegen scorer train` and `musegen scorer info`: a debug scorer end to end, and bad input."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from musegen_cli.cli.app import app


@pytest.fixture(scope="module")
def debug_data(tmp_path_factory):
    """Twelve labelled records (three keys, two meters) in a dataset folder."""
    folder = tmp_path_factory.mktemp("cli-scorer-data")
    records = []
    for i in range(12):
        key, meter, quadrant = ("G", "D", "Em")[i % 3], ("6/8", "4/4")[i % 2], ("Q1", "Q3")[i % 2]
        notes = "GABc dedB|" if i % 2 else "ABc dcB|"
        records.append({"abc": f"X:1\nM:{meter}\nK:{key}\n{notes * (2 + i % 4)}\n", "collection": "oneills1850",
                        "id": str(i), "labels": {"key": key, "meter": meter, "quadrant": quadrant}})
    for split, chunk in (("train", records[:8]), ("valid", records[8:10]), ("test", records[10:])):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chunk), encoding="utf-8")
    return folder


def run(*args: object):
    return CliRunner().invoke(app, ["scorer", *map(str, args)])


def test_train_a_debug_scorer_and_show_it(debug_data, tmp_path) -> None:
    torch.set_num_threads(1)
    out = tmp_path / "scorer"
    result = run("train", "--data", debug_data, "-o", out, "--preset", "debug", "--seed", "3", "--device", "cpu",
                 "--set", "pretrain_steps=4", "--set", "align_steps=6", "--set", "eval_every=3")
    assert result.exit_code == 0, result.output
    assert "test_top5" in result.output and "Saved scorer" in result.output
    manifest = json.loads((out / "musegen.json").read_text())
    assert manifest["family"] == "music-encoder" and manifest["provenance"]["seed"] == 3
    assert manifest["metrics"]["steps"] == {"pretrain": 4, "align": 6}

    info = run("info", out)
    assert info.exit_code == 0, info.output
    assert manifest["provenance"]["version"] in info.stdout and "test_top5" in info.stdout
    shown = json.loads(run("info", out, "--json").stdout)
    assert shown["version"] == manifest["provenance"]["version"] and shown["metrics"] == manifest["metrics"]

    resumed = run("train", "--data", debug_data, "-o", out, "--resume", "--json", "--device", "cpu")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["metrics"] == manifest["metrics"]


def test_bad_input_is_one_line_and_exit_code_2(debug_data, tmp_path) -> None:
    result = run("train", "--data", debug_data, "-o", tmp_path / "x", "--preset", "huge")
    assert result.exit_code == 2 and "unknown preset 'huge'" in result.output
    result = run("train", "--data", debug_data, "-o", tmp_path / "x", "--preset", "debug", "--set", "nope=1")
    assert result.exit_code == 2 and "no training option 'nope'" in result.output
    result = run("train", "--data", debug_data, "-o", tmp_path / "missing", "--resume")
    assert result.exit_code == 2 and "does not exist yet" in result.output
    result = run("info", tmp_path)
    assert result.exit_code == 2 and "not a musegen model directory" in result.output


def test_help_shows_examples() -> None:
    for command in ("train", "info"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Examples" in result.output


def test_train_family_music_encoder_trains_a_scorer_and_scorer_train_says_it_is_an_alias(debug_data, tmp_path):
    from musegen_cli.scoring.scorer import load_scorer

    torch.set_num_threads(1)
    out = tmp_path / "encoder"
    args = ["train", "--family", "music-encoder", "--data", str(debug_data), "-o", str(out), "--preset", "debug",
            "--seed", "5", "--device", "cpu", "--set", "pretrain_steps=2", "--set", "align_steps=2",
            "--set", "eval_every=2", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"model": str(out), "family": "music-encoder", "seed": 5}
    manifest = json.loads((out / "musegen.json").read_text())
    assert manifest["family"] == "music-encoder" and manifest["metrics"]["steps"] == {"pretrain": 2, "align": 2}
    assert load_scorer(out).dim == 16  # the debug preset's shared space
    resumed = CliRunner().invoke(app, ["train", "-o", str(out), "--resume", "--json", "--device", "cpu"])
    assert resumed.exit_code == 0 and json.loads(resumed.stdout)["family"] == "music-encoder", resumed.output
    wrong = CliRunner().invoke(app, ["train", "--family", "music-encoder", "--data", str(debug_data), "-o",
                                     str(tmp_path / "x"), "--preset", "debug", "--init-from", "default"])
    assert wrong.exit_code == 2 and "holds a 'abc-transformer' model, not a scorer" in wrong.stderr

    alias = run("train", "--data", debug_data, "-o", tmp_path / "y", "--preset", "huge")
    notice = [line for line in alias.stderr.splitlines() if "alias of `musegen train --family music-encoder`" in line]
    assert alias.exit_code == 2 and len(notice) == 1


def test_plugins_and_models_list_the_music_encoder() -> None:
    listing = json.loads(CliRunner().invoke(app, ["plugins", "--json"]).stdout)
    (family,) = [f for f in listing["families"] if f["name"] == "music-encoder"]
    assert family["capabilities"] == ["trainer", "presets"] and "pretrain_steps" in family["features"]["train_options"]
    models = json.loads(CliRunner().invoke(app, ["models", "--json"]).stdout)
    assert {"name": "scorer", "family": "music-encoder"}.items() <= next(m for m in models if m["name"] == "scorer").items()
