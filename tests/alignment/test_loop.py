"""The iteration loop: saved layout, resume after an interruption, and too few samples."""

import json
from pathlib import Path

import pytest

from musegen_cli.alignment.dpo import DpoOptions
from musegen_cli.alignment.loop import DpoRun, RunSettings, prepare_output
from musegen_cli.alignment.rewards import build_reward
from musegen_cli.errors import UserError
from tests.alignment import canned


def _run(out: Path, start: Path, iterations: int, resume: bool = False, conditions=None,
         reference_model: str = "start") -> dict:
    conditions = conditions or [{"emotion": "Q1"}, {"emotion": "Q4"}]
    settings = RunSettings(model=str(start), family=canned.NAME, reward={"rules": 1.0}, conditions=conditions,
                           iterations=iterations, samples=4, top=0.5, bottom=0.5, dpo=DpoOptions(lr=1e-3), seed=5,
                           reference_model=reference_model)
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


@pytest.mark.parametrize("reference_model", ["iteration", "start"])
def test_the_reference_model_is_the_iterations_start_or_the_runs(tmp_path, canned_model_dir, monkeypatch,
                                                                 reference_model):
    import torch

    from musegen_cli.alignment import loop
    from musegen_cli.model_dir import load_weights

    references: list[dict] = []

    def recording(capability, reference, pieces, conditions):
        references.append({k: v.clone() for k, v in capability.trainable(reference).state_dict().items()})
        return real(capability, reference, pieces, conditions)

    real = loop.reference_log_probs
    monkeypatch.setattr(loop, "reference_log_probs", recording)
    out = tmp_path / "run"
    _run(out, canned_model_dir, 1, reference_model=reference_model)
    _run(out, canned_model_dir, 2, resume=True, reference_model=reference_model)  # a resume finds it again

    def same(state: dict, folder: Path) -> bool:
        return all(torch.equal(state[name], value) for name, value in load_weights(folder).items())

    assert len(references) == 2 and same(references[0], canned_model_dir)
    assert same(references[1], out / "iter-1" if reference_model == "iteration" else canned_model_dir)
    assert not same(references[1], canned_model_dir if reference_model == "iteration" else out / "iter-1")


def test_a_run_saved_before_the_reference_model_was_recorded_resumes_as_it_ran(tmp_path, canned_model_dir):
    out = tmp_path / "run"
    settings = RunSettings(model=str(canned_model_dir), family=canned.NAME, reward={"rules": 1.0}, conditions=[{}],
                           reference_model="start")
    prepare_output(out, settings, resume=False)
    saved = json.loads((out / "run.json").read_text())
    del saved["reference_model"]
    (out / "run.json").write_text(json.dumps(saved))
    prepare_output(out, settings, resume=True)  # such runs used the run's starting model
    with pytest.raises(UserError, match="differ from the run.*reference_model"):
        prepare_output(out, RunSettings(**{**settings.__dict__, "reference_model": "iteration"}), resume=True)
