"""The iteration loop: saved layout, resume after an interruption, and too few samples."""

import json
from pathlib import Path

import pytest

from musegen_cli.alignment.dpo import DpoOptions
from musegen_cli.alignment.loop import DpoRun, RunSettings, prepare_output
from musegen_cli.alignment.rewards import build_reward
from musegen_cli.errors import UserError
from tests.alignment import canned


def _run(out: Path, start: Path, iterations: int, resume: bool = False, conditions=None) -> dict:
    conditions = conditions or [{"emotion": "Q1"}, {"emotion": "Q4"}]
    settings = RunSettings(model=str(start), family=canned.NAME, reward={"rules": 1.0}, conditions=conditions,
                           iterations=iterations, samples=4, top=0.5, bottom=0.5, dpo=DpoOptions(lr=1e-3), seed=5)
    prepare_output(out, settings, resume)
    return DpoRun(out, settings, canned.family(), build_reward({"rules": 1.0}, conditions, scorer=None)).run()


def test_resume_continues_from_the_saved_iteration(tmp_path, canned_model_dir):
    out = tmp_path / "run"
    first = _run(out, canned_model_dir, 1)
    assert [r["iteration"] for r in first["rows"]] == [1] and first["final"]["sampled_from"] == "iter-1"
    saved = (out / "iter-1" / "model.safetensors").read_bytes()
    for name in ("musegen.json", "model.safetensors", "samples.jsonl", "preferences.jsonl", "stats.json"):
        assert (out / "iter-1" / name).is_file()
    (out / "iter-2.tmp").mkdir()  # an iteration that was interrupted half-way
    (out / "iter-2.tmp" / "model.safetensors").write_bytes(b"half")
    with pytest.raises(UserError, match="already holds a dpo run"):
        _run(out, canned_model_dir, 2)
    second = _run(out, canned_model_dir, 2, resume=True)
    assert not (out / "iter-2.tmp").exists()
    assert (out / "iter-1" / "model.safetensors").read_bytes() == saved
    assert [r["iteration"] for r in second["rows"]] == [1, 2]
    assert second["rows"][0] == first["rows"][0]
    assert second["rows"][1]["sampled_from"] == "iter-1"
    manifest = json.loads((out / "iter-2" / "musegen.json").read_text())
    assert manifest["provenance"]["init_from"] == str(out / "iter-1")
    assert json.loads((out / "report.json").read_text())["final"]["sampled_from"] == "iter-2"
    # The saved model loads like any other of its family and differs from the start.
    model = canned.Sampler().load(out / "iter-2")
    assert model.inner.model.config.max_patches > 0
    assert (out / "iter-2" / "model.safetensors").read_bytes() != (canned_model_dir / "model.safetensors").read_bytes()


def test_too_few_valid_samples_is_an_error_that_keeps_earlier_iterations(tmp_path, canned_model_dir, monkeypatch):
    out = tmp_path / "run"
    _run(out, canned_model_dir, 1)
    monkeypatch.setattr(canned, "POOL", [canned.POOL[-1]])  # nothing parses any more
    with pytest.raises(UserError, match="iteration 2: too few valid samples to form pairs"):
        _run(out, canned_model_dir, 2, resume=True)
    assert (out / "iter-1" / "musegen.json").is_file() and not (out / "iter-2").exists()


def test_resume_refuses_changed_settings(tmp_path, canned_model_dir):
    out = tmp_path / "run"
    settings = RunSettings(model=str(canned_model_dir), family=canned.NAME, reward={"rules": 1.0}, conditions=[{}])
    prepare_output(out, settings, resume=False)
    with pytest.raises(UserError, match="differ from the run.*samples"):
        prepare_output(out, RunSettings(**{**settings.__dict__, "samples": 8}), resume=True)
    prepare_output(out, RunSettings(**{**settings.__dict__, "iterations": 9}), resume=True)
