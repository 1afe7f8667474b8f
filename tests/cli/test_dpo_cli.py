"""`musegen dpo` end to end with a test family (real log-probs and training, canned sampling)."""

import json

import pytest
from typer.testing import CliRunner

from musegen_cli import registry
from musegen_cli.cli.app import app
from tests.alignment import canned


@pytest.fixture()
def families(monkeypatch):
    from musegen_plugins.abc_transformer.family import FAMILY

    reg = registry.Registry()
    reg.register(FAMILY)
    reg.register(canned.family())
    reg.register(registry.ModelFamily(name="sample-only", description="no log-probs", sampler=object()))
    monkeypatch.setattr(registry, "_registry", reg)
    return reg


@pytest.fixture()
def scorer(tmp_path):
    from musegen_cli.scoring.scorer import build_scorer, save_scorer

    save_scorer(build_scorer("debug"), tmp_path / "scorer", provenance={}, metrics={})
    return tmp_path / "scorer"


def test_dpo_runs_end_to_end_and_resumes(tmp_path, families, scorer):
    start = canned.make_model(tmp_path / "start")
    out = tmp_path / "run"
    args = ["dpo", "--model", str(start), "--reward", "emotion=0.7,rules=0.3", "--emotions", "Q1,Q3",
            "--samples", "4", "--iterations", "1", "--scorer", str(scorer), "--seed", "3", "--lr", "1e-3",
            "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (row,) = report["rows"]
    assert row["pairs"] > 0 and row["samples"] == 8 and row["emotion_accuracy"] is not None
    assert 0 <= row["valid"] <= 1 and row["loss"] > 0
    assert json.loads((out / "report.json").read_text()) == report
    resumed = CliRunner().invoke(app, [*args[:-2], "--iterations", "2", "-o", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "iteration 2" in resumed.stderr and "sampled from" in resumed.stderr
    assert (out / "iter-2" / "musegen.json").is_file()


def test_dpo_errors_are_one_line(tmp_path, families, scorer):
    start = canned.make_model(tmp_path / "start")
    sample_only = tmp_path / "s"
    canned.make_model(sample_only)
    canned.retag(sample_only)
    manifest = json.loads((sample_only / "musegen.json").read_text())
    (sample_only / "musegen.json").write_text(json.dumps({**manifest, "family": "sample-only"}))
    cases = [
        (["--model", str(sample_only)], "does not support 'dpo'"),
        (["--model", str(start), "--reward", "reference", "--scorer", str(scorer)], "needs --reference"),
        (["--model", str(start), "--reward", "emotion", "--conditions", "mode=major"], "emotion (Q1-Q4) in every"),
        (["--model", str(start), "--reward", "bogus"], "unknown reward"),
        (["--model", str(start), "--conditions", "emotion=Q9"], "invalid emotion"),
        (["--model", str(start), "--reference-model", "previous"], "--reference-model must be start or iteration"),
    ]
    for extra, message in cases:
        result = CliRunner().invoke(app, ["dpo", *extra, "-o", str(tmp_path / "out")])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing sampled or written before the checks


def test_help_has_examples():
    result = CliRunner().invoke(app, ["dpo", "--help"])
    assert result.exit_code == 0 and "musegen dpo --model" in result.output and "--resume" in result.output
