"""`musegen train` through the CLI: --resume reads the family and seed the run recorded; --help
lists every family's --set keys from its options dataclass."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.registry import Capability, get_registry, reset_registry

TINY = ("--preset", "debug", "--set", "max_steps=2", "--set", "eval_every=2", "--set", "batch_size=4",
        "--device", "cpu")


def invoke(*args: object):
    reset_registry()
    return CliRunner().invoke(app, ["train", *map(str, args)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, essen_tunes) -> Path:
    data = tmp_path_factory.mktemp("tunes")
    (data / "tunes.abc").write_text("\n\n".join(essen_tunes[:12]), encoding="utf-8")
    out = tmp_path_factory.mktemp("runs") / "mine"
    result = invoke("--family", "abc-transformer", "--data", data, *TINY, "--seed", 7, "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_resume_needs_no_family_and_reports_the_recorded_seed(trained):
    result = invoke("--resume", "-o", trained, "--device", "cpu")  # nothing left to do: 2 of 2 steps ran
    assert result.exit_code == 0, result.output
    assert f"Saved model to {trained} (seed 7)." in " ".join(result.output.split())
    as_json = invoke("--resume", "-o", trained, "--device", "cpu", "--json")
    assert json.loads(as_json.stdout) == {"model": str(trained), "family": "abc-transformer", "seed": 7}


def test_resume_refuses_another_family_or_seed_and_an_empty_folder(trained, tmp_path):
    cases = [
        (("--resume", "-o", trained, "--family", "muser"), "holds a model of the abc-transformer family, not muser"),
        (("--resume", "-o", trained, "--seed", 8), "was trained with seed 7"),
        (("--resume", "-o", tmp_path), "holds no model yet"),
        (("--resume", "-o", tmp_path / "none"), "does not exist yet"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1


def test_help_lists_every_set_key_with_its_type_and_default():
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "1000"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    families = [f for f in get_registry().with_capability(Capability.TRAINER) if hasattr(f.trainer, "options")]
    assert {f.name for f in families} >= {"abc-transformer", "muser"}
    for family in families:
        for field in dataclasses.fields(family.trainer.options):
            default = "none" if field.default is None else str(field.default)
            assert f"{field.name} ({field.type}, {default})" in text, (family.name, field.name)
    assert "max_steps (int, 2000)" in text


def test_the_run_records_its_dataset_so_generate_can_flag_copies(trained):
    from musegen_cli.scoring.similarity import dataset_pieces
    from musegen_cli.scoring.training_copies import check_copies, training_folder

    folder = training_folder(trained)
    assert folder is not None and (folder / "train.jsonl").is_file()
    (_, learned), *_ = dataset_pieces(folder)
    check = check_copies(trained, [learned])
    assert check is not None and check.matches[0].is_copy
