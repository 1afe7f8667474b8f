"""The muser trainer: data sources, options, the loss going down, checkpoints and exact resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from musegen_cli.contract import TrainRequest
from musegen_cli.errors import UserError
from musegen_cli.model_dir import load_weights, read_manifest
from musegen_plugins.muser import data as muser_data
from musegen_cli.training.state import STATE_JSON
from musegen_plugins.muser.training import LAST, Options, train

from .conftest import DEBUG_OPTIONS


class Interrupted(Exception):
    pass


def request(data: Path, out: Path, resume: bool = False, **options) -> TrainRequest:
    return TrainRequest(data=str(data), output=out, preset="debug", seed=3, device=torch.device("cpu"),
                        resume=resume, options={**DEBUG_OPTIONS, **options})


def test_dataset_pieces_carry_compound_words_and_analyzer_quadrants(corpus_dataset):
    dataset = muser_data.load(str(corpus_dataset))
    pieces = dataset.train + dataset.valid
    assert len(pieces) >= 8 and all(p.rows and len(p.rows[0]) == 7 for p in pieces)
    assert {p.quadrant for p in pieces} <= {"Q1", "Q2", "Q3", "Q4"}


def test_a_midi_folder_is_read_as_midi_and_labelled_by_the_analyzer(corpus_midi):
    folder = corpus_midi[0].parent
    dataset = muser_data.load(str(folder))
    assert len(dataset.train) + len(dataset.valid) == len(corpus_midi)
    assert all(p.quadrant in {"Q1", "Q2", "Q3", "Q4"} for p in dataset.train + dataset.valid)
    assert dataset.source.startswith("MIDI folder")


def test_capped_training_sets_take_pieces_from_every_quadrant_in_turn(corpus_dataset):
    records = [{"abc": str(i), "labels": {"quadrant": q}} for i, q in enumerate("Q1 Q1 Q1 Q4 Q4 Q2".split())]
    records.append({"abc": "unlabelled", "labels": {}})
    chosen = muser_data.balanced_selection(records, 5)
    assert [r["abc"] for r in chosen] == ["0", "5", "3", "unlabelled", "1"]
    capped = muser_data.load(str(corpus_dataset), max_pieces=3)
    assert len(capped.train) <= 3 and capped.valid == muser_data.load(str(corpus_dataset)).valid


def test_long_pieces_are_cut_to_their_opening_lines():
    abc = "X:1\nM:4/4\nK:C\n" + "CDEF GABc|\n" * 100
    assert muser_data.opening(abc, limit=10_000) == abc
    cut = muser_data.opening(abc, limit=60)
    assert abc.startswith(cut) and cut.endswith("|\n") and len(cut) <= 60


def test_held_out_pieces_are_the_validation_split_alone(corpus_dataset, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(corpus_dataset, copy)
    lines = (copy / "train.jsonl").read_text().splitlines(keepends=True)
    (copy / "valid.jsonl").write_text("".join(lines[:3]))
    held = muser_data.held_out(str(copy))
    assert held.train == [] and 0 < len(held.valid) <= 3
    (copy / "valid.jsonl").write_text("")  # no validation pieces: the training pieces stand in
    assert muser_data.held_out(str(copy)).train == muser_data.load(str(copy)).train


def test_options_reject_unknown_and_bad_values():
    with pytest.raises(UserError, match="no training option 'steps'"):
        Options.from_mapping({"steps": 3})
    with pytest.raises(UserError, match="batch_size"):
        Options.from_mapping({"batch_size": 0})
    with pytest.raises(UserError, match="at least 1"):
        Options.from_mapping({"vae_steps": 0, "prior_steps": 0})


def test_training_lowers_both_losses_and_writes_a_model_directory(trained, corpus_dataset, tmp_path):
    figures: list[dict] = []
    out = train(request(corpus_dataset, tmp_path / "m", vae_steps=40, prior_steps=30), figures.append)
    assert [f["step"] for f in figures if "loss" in f] == [10, 20, 30, 40, 50, 60, 70]
    vae = [f["recon"] for f in figures if f.get("stage") == "vae"]
    prior = [f["loss"] for f in figures if f.get("stage") == "prior"]
    assert len(vae) == 4 and len(prior) == 3  # every 10 steps
    assert vae[-1] < 0.6 * vae[0] and prior[-1] < prior[0]
    manifest = read_manifest(out)
    assert manifest["family"] == "muser" and manifest["metrics"]["stage"] == "prior"
    assert manifest["config"]["elements"] == ["rhythm", "pitch", "duration", "velocity"]
    assert (out / LAST / STATE_JSON).is_file()
    prefixes = {name.split(".")[0] for name in load_weights(out)}
    assert prefixes == {"vae", "prior"}


def test_resume_in_either_stage_reproduces_an_uninterrupted_run(corpus_dataset, tmp_path):
    options = {"vae_steps": 12, "prior_steps": 8, "eval_every": 4, "restart_every": 4}
    whole = train(request(corpus_dataset, tmp_path / "whole", **options), lambda f: None)

    def stop_at(step: int):
        def progress(figures):
            if figures.get("step") == step and "loss" in figures:
                raise Interrupted
        return progress

    out = tmp_path / "resumed"
    with pytest.raises(Interrupted):
        train(request(corpus_dataset, out, **options), stop_at(10))  # stage 1, last saved at 8
    with pytest.raises(Interrupted):
        train(request(corpus_dataset, out, resume=True, **options), stop_at(20))  # stage 2, last saved at 16
    train(request(corpus_dataset, out, resume=True, **options), lambda f: None)
    a, b = load_weights(whole / LAST), load_weights(out / LAST)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_without_state_is_a_user_error(corpus_dataset, tmp_path):
    with pytest.raises(UserError, match="--resume"):
        train(request(corpus_dataset, tmp_path / "none", resume=True), lambda f: None)
