"""The abc-transformer trainer: data, loss going down, checkpoints, resume, fine-tuning, DDP."""

from __future__ import annotations

import json
import math
import os
import random
import socket
from pathlib import Path

import pytest
import torch

from musegen_cli.contract import TrainRequest
from musegen_cli.errors import UserError
from musegen_cli.model_dir import load_weights, read_manifest
from musegen_cli.notation.patch_batches import LengthBatches

from musegen_plugins.abc_transformer import conditions as cond
from musegen_plugins.abc_transformer.training import (
    Options,
    Piece,
    learning_rate,
    load_pieces,
    piece_patches,
    train,
)


@pytest.fixture(scope="session")
def abc_folder(tmp_path_factory, essen_tunes) -> Path:
    folder = tmp_path_factory.mktemp("abc-data")
    (folder / "tunes.abc").write_text("\n\n".join(essen_tunes[:12]), encoding="utf-8")
    return folder


def request(data: Path, out: Path, **options) -> TrainRequest:
    base = {"max_steps": 12, "eval_every": 6, "batch_size": 4, "lr": 3e-3, "warmup": 2}
    resume = options.pop("resume", False)
    init_from = options.pop("init_from", None)
    return TrainRequest(data=str(data), output=out, preset="debug", seed=1, device=torch.device("cpu"),
                        resume=resume, init_from=init_from, options={**base, **options})


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_weights(a), load_weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


# ----- pieces, options, batches ---------------------------------------------------------------


def test_abc_folder_is_cleaned_deduplicated_and_split(abc_folder):
    dataset = load_pieces(str(abc_folder))
    assert len(dataset.train) + len(dataset.valid) <= 12 and dataset.train
    assert all(p.abc.startswith("X:1\n") and "T:" not in p.abc for p in dataset.train)
    # Folders are built into a cached, labelled dataset, exactly as `musegen data build` does.
    conditions = dataset.train[0].conditions
    assert conditions["emotion"] in {"Q1", "Q2", "Q3", "Q4"} and {"meter", "key", "mode"} <= set(conditions)
    assert dataset.manifest_hash
    assert load_pieces(str(abc_folder)).manifest_hash == dataset.manifest_hash  # reused, not rebuilt


def test_jsonl_dataset_uses_labels_and_manifest_hash(tmp_path):
    record = {"id": "a", "collection": "c", "source": "s", "split": "train",
              "abc": "X:1\nM:6/8\nK:Dmix\nABc def|\n",
              "labels": {"quadrant": "Q1", "mode": "mixolydian", "tempo_band": "fast", "composer": "Anon"}}
    (tmp_path / "train.jsonl").write_text(json.dumps(record) + "\n")
    (tmp_path / "valid.jsonl").write_text("")
    (tmp_path / "manifest.json").write_text(json.dumps({"hash": "abc123"}))
    dataset = load_pieces(str(tmp_path))
    assert dataset.manifest_hash == "abc123"
    assert dataset.train[0].conditions == {
        "emotion": "Q1", "mode": "major", "tempo": "fast", "composer": "Anon", "meter": "6/8", "key": "Dmix"}


def test_missing_data_and_bad_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such"):
        load_pieces(str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="no usable music"):
        load_pieces(str(tmp_path))
    with pytest.raises(UserError, match="no training option 'bogus'"):
        Options.from_mapping({"bogus": 1})
    with pytest.raises(UserError, match="batch_size"):
        Options.from_mapping({"batch_size": 0})


def test_learning_rate_warms_up_then_follows_a_cosine():
    options = Options(max_steps=100, warmup=10, lr=1.0, min_lr_ratio=0.1)
    rates = [learning_rate(s, options) for s in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))
    assert rates[-1] == pytest.approx(0.1, abs=1e-3)


def test_long_pieces_keep_header_and_conditions_when_cropped():
    body = "".join("abcd efga|" for _ in range(60)) + "\n"
    piece = Piece("X:1\nM:4/4\nL:1/8\nK:D\n" + body, {"emotion": "Q2", "key": "D"})
    rows = piece_patches(piece, piece.conditions, 16, 20, random.Random(0))
    assert len(rows) == 20
    from musegen_cli.notation.abc_patches import patch_text

    text = "".join(patch_text(r) for r in rows)
    assert text.startswith("X:1\n%emotion Q2\n%key D\nM:4/4\nL:1/8\nK:D\n")
    assert piece_patches(piece, piece.conditions, 16, 4, None) is None  # header alone is too long


def test_batches_depend_only_on_seed_and_step():
    lengths = list(range(50))
    a, b = LengthBatches(lengths, 8, seed="3"), LengthBatches(lengths, 8, seed="3")
    assert [a[n] for n in range(20)] == [b[n] for n in reversed(range(20))][::-1]
    epoch = sorted(i for n in range(a.per_epoch) for i in a[n])
    assert epoch == lengths  # every piece once per epoch


def test_condition_dropout_learns_every_control_mode():
    rng = random.Random(0)
    full = {"emotion": "Q1", "mode": "major", "tempo": "fast", "register": "high"}
    draws = [cond.dropout(full, rng) for _ in range(2000)]
    empty = sum(not d for d in draws) / len(draws)
    assert 0.1 < empty < 0.2  # 0.1 dropped outright + 0.9 * 0.5**4
    kept = sum("mode" in d for d in draws) / len(draws)
    assert kept == pytest.approx(0.45, abs=0.05)


# ----- training runs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(abc_folder, tmp_path_factory) -> tuple[Path, list[dict]]:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run") / "m"
    progress: list[dict] = []
    train(request(abc_folder, out), progress.append)
    return out, progress


def test_training_lowers_the_loss_and_writes_checkpoints(trained):
    out, progress = trained
    losses = [p["loss"] for p in progress if "loss" in p]
    assert losses[-1] < losses[0]
    assert all({"step", "loss", "chars_per_s", "lr"} <= set(p) for p in progress if "loss" in p)
    valid = [p for p in progress if "valid_bpc" in p]
    assert [p["step"] for p in valid] == [6, 12] and all(math.isfinite(p["valid_bpc"]) for p in valid)
    for folder in (out, out / "last"):
        manifest = read_manifest(folder)
        assert manifest["family"] == "abc-transformer"
        assert manifest["config"]["preset"] == "debug" and manifest["config"]["model"]["patch_hidden"] == 32
        assert manifest["config"]["conditions"]["key"]
        assert manifest["provenance"]["seed"] == 1 and manifest["provenance"]["command"]
        assert manifest["provenance"]["data_manifest_hash"]
        assert math.isfinite(manifest["metrics"]["best_valid_bpc"])
    assert read_manifest(out / "last")["provenance"]["steps"] == 12
    state = json.loads((out / "last" / "training_state.json").read_text())
    assert state["step"] == 12 and state["options"]["max_steps"] == 12
    assert (out / "last" / "training_state.safetensors").is_file()
    from musegen_plugins.abc_transformer.inference import load

    assert load(out).model.config.patch_hidden == 32


class Interrupted(Exception):
    pass


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(abc_folder, trained, tmp_path):
    full, _ = trained
    out = tmp_path / "m"

    def crash_after_first_checkpoint(figures):
        if figures.get("step", 0) > 6:
            raise Interrupted

    with pytest.raises(Interrupted):
        train(request(abc_folder, out), crash_after_first_checkpoint)
    assert json.loads((out / "last" / "training_state.json").read_text())["step"] == 6
    progress: list[dict] = []
    train(request(abc_folder, out, resume=True), progress.append)
    assert progress[0]["step"] > 6
    assert read_manifest(out / "last")["provenance"]["steps"] == 12
    assert same_weights(out / "last", full / "last")


def test_resume_without_a_checkpoint_says_so(abc_folder, tmp_path):
    with pytest.raises(UserError, match="no training state"):
        train(request(abc_folder, tmp_path / "m", resume=True), lambda f: None)


def test_init_from_starts_from_the_given_weights(abc_folder, trained, tmp_path):
    source, _ = trained
    out = tmp_path / "tuned"
    train(request(abc_folder, out, init_from=source, max_steps=1, lr=0.0), lambda f: None)
    assert same_weights(out / "last", source)
    provenance = read_manifest(out)["provenance"]
    assert provenance["init_from"] == str(source)
    assert provenance["init_provenance"] == read_manifest(source)["provenance"]  # the chain is kept


def test_accumulation_runs(abc_folder, tmp_path):
    progress: list[dict] = []
    train(request(abc_folder, tmp_path / "m", max_steps=2, eval_every=2, accumulate=2), progress.append)
    assert progress[-1]["step"] == 2


# ----- DDP ------------------------------------------------------------------------------------


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    progress: list[dict] = []
    train(request(Path(data), Path(out) / "m", max_steps=4, eval_every=4, batch_size=2), progress.append)
    (Path(out) / f"rank{rank}.progress").write_text(json.dumps(len(progress)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_on_cpu(abc_folder, tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(abc_folder), str(tmp_path)), nprocs=2, join=True)
    manifest = read_manifest(tmp_path / "m")
    assert manifest["provenance"]["world_size"] == 2 and manifest["provenance"]["steps"] == 4
    assert json.loads((tmp_path / "rank0.progress").read_text()) > 0
    assert json.loads((tmp_path / "rank1.progress").read_text()) == 0
