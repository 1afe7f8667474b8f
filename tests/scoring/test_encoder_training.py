"""Training a debug scorer: losses fall, retrieval beats chance, checkpoints, exact resume, options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from musegen_cli.errors import UserError
from musegen_cli.model_dir import load_weights
from musegen_cli.notation.patch_batches import LengthBatches
from musegen_cli.scoring import descriptions
from musegen_cli.scoring.encoder_training import (
    Options,
    contrastive_loss,
    fit_emotion,
    positives,
    retrieval_ranks,
)
from musegen_cli.scoring.encoder_training import train as train_scorer
from musegen_cli.scoring.scorer import QUADRANTS, load_scorer

FAST = {"pretrain_steps": 10, "align_steps": 150, "eval_every": 50, "eval_pieces": 8}


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def trained(scorer_data, tmp_path_factory) -> tuple[Path, list[dict]]:
    torch.set_num_threads(1)  # module fixtures run before the per-test one-thread fixture
    out = tmp_path_factory.mktemp("scorer") / "s"
    progress: list[dict] = []
    train_scorer(scorer_data, out, "debug", 1, FAST, progress.append)
    return out, progress


def _records(folder: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]


def test_contrastive_loss_falls_and_retrieval_beats_chance(trained, scorer_data) -> None:
    out, progress = trained
    align = [p["loss"] for p in progress if p.get("stage") == "align" and "loss" in p]
    assert sum(align[-3:]) / 3 < 0.8 * sum(align[:3]) / 3
    scorer = load_scorer(out)
    records = _records(scorer_data, "train")
    ranks = retrieval_ranks(scorer.embed_texts([descriptions.describe(r) for r in records]),
                            scorer.embed_pieces([r["abc"] for r in records]))
    top1, top5 = float((ranks < 1).float().mean()), float((ranks < 5).float().mean())
    assert top1 > 2 / len(records) and top5 > 1.5 * 5 / len(records)


def test_the_saved_scorer_records_provenance_and_metrics(trained) -> None:
    out, progress = trained
    manifest = json.loads((out / "musegen.json").read_text())
    assert manifest["family"] == "music-encoder"
    provenance, metrics = manifest["provenance"], manifest["metrics"]
    assert provenance["data_manifest_hash"] == "feedc0ffee" and provenance["seed"] == 1
    assert provenance["command"] and provenance["training_seconds"] > 0
    assert provenance["version"] == load_scorer(out).version
    for split in ("valid", "test"):
        assert 0 <= metrics[f"{split}_top1"] <= metrics[f"{split}_top5"] <= 1
        assert metrics[f"{split}_chance_top5"] == 5 / 4 or metrics[f"{split}_chance_top5"] == 1.0
        assert 0 <= metrics[f"{split}_emotion_accuracy"] <= 1
    assert metrics["steps"] == {"pretrain": 10, "align": 150}
    assert (out / "best" / "model.safetensors").is_file() and (out / "last" / "training_state.json").is_file()
    assert progress[-1]["stage"] == "done"
    assert any("valid_mask_loss" in p for p in progress) and any("valid_top5" in p for p in progress)


def test_resume_gives_the_same_scorer_as_an_uninterrupted_run(trained, scorer_data, tmp_path) -> None:
    full, _ = trained
    out = tmp_path / "s"

    def crash_in_alignment(figures):
        if figures.get("stage") == "align" and figures.get("step", 0) > 70:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_scorer(scorer_data, out, "debug", 1, FAST, crash_in_alignment)
    state = json.loads((out / "last" / "training_state.json").read_text())
    assert (state["stage"], state["step"]) == ("align", 50)
    train_scorer(scorer_data, out, "debug", 999, {}, lambda figures: None, resume=True)  # seed comes from the state
    a, b = load_weights(full), load_weights(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_scorer(out).version == load_scorer(full).version


def test_resume_without_state_and_bad_options_are_user_errors(scorer_data, tmp_path) -> None:
    with pytest.raises(UserError, match="no training state"):
        train_scorer(scorer_data, tmp_path / "none", "debug", 0, {}, lambda f: None, resume=True)
    with pytest.raises(UserError, match="no training option 'nonsense'"):
        Options.from_mapping({"nonsense": 1})
    with pytest.raises(UserError, match="batch_size"):
        Options.from_mapping({"batch_size": 0})
    with pytest.raises(UserError, match="mask_ratio"):
        Options.from_mapping({"mask_ratio": 2})
    with pytest.raises(UserError, match="unknown scorer preset"):
        train_scorer(scorer_data, tmp_path / "x", "giant", 0, {}, lambda f: None)
    with pytest.raises(UserError):
        train_scorer(tmp_path / "not-data.txt", tmp_path / "x", "debug", 0, {}, lambda f: None)


def test_batches_depend_on_seed_and_step_only() -> None:
    lengths = list(range(50))
    a, b = LengthBatches(lengths, 8, "3-align", run=16, drop_last=True), LengthBatches(lengths, 8, "3-align", run=16, drop_last=True)
    assert [a[n] for n in range(20)] == [b[n] for n in reversed(range(20))][::-1]
    assert all(len(set(a[n])) == 8 for n in range(20))
    assert sorted(i for n in range(6) for i in a[n]) == sorted(set(i for n in range(6) for i in a[n]))
    assert [LengthBatches(lengths, 8, "4-align", run=16, drop_last=True)[n] for n in range(6)] != [a[n] for n in range(6)]


def test_partial_descriptions_count_every_fitting_piece_as_positive() -> None:
    fast = {"labels": {"tempo_band": "fast", "mode": "major"}}
    slow = {"labels": {"tempo_band": "slow", "mode": "major"}}
    fits = positives([["fast tempo"], ["major mode"]], [fast, slow])
    assert fits.tolist() == [[True, False], [True, True]]
    music = torch.nn.functional.normalize(torch.randn(2, 4), dim=1)
    assert torch.isfinite(contrastive_loss(music, music, torch.tensor(2.0), fits))


def test_emotion_classifier_separates_separable_classes() -> None:
    torch.manual_seed(0)
    centres = torch.randn(4, 8) * 3
    labels = [QUADRANTS[i % 4] for i in range(80)]
    x = torch.stack([centres[i % 4] for i in range(80)]) + torch.randn(80, 8) * 0.3
    weight, bias = fit_emotion(x, labels, 50, 1e-3)
    predicted = (x @ weight.T + bias).argmax(1)
    assert predicted.tolist() == [i % 4 for i in range(80)]


def test_resuming_a_finished_scorer_refits_the_emotion_classifier_and_keeps_the_commands(trained, scorer_data,
                                                                                        tmp_path) -> None:
    import shutil

    out = tmp_path / "refit"
    shutil.copytree(trained[0], out)
    train_scorer(scorer_data, out, "debug", 999, {"emotion_pieces": 8}, lambda figures: None, resume=True)
    provenance = json.loads((out / "musegen.json").read_text())["provenance"]
    assert len(provenance["commands"]) == 2 and provenance["seed"] == 1
    assert provenance["options"]["emotion_pieces"] == 8
    before, after = load_weights(trained[0]), load_weights(out)
    encoders = [k for k in before if not k.startswith("emotion.")]
    assert encoders and all(torch.equal(before[k], after[k]) for k in encoders)  # only the classifier is refitted
    assert not torch.equal(before["emotion.weight"], after["emotion.weight"])
