"""Training an abc-transformer: data, batches, the loop, checkpoints and resume.

Read top to bottom (``Options``, every knob ``--set KEY=VALUE`` can turn, is in ``options``): ``load_pieces``
(a dataset folder or ABC files -> clean tunes with conditions), ``LengthBatches`` (which pieces a
step sees, decided by the seed and the step number alone), then ``train`` (AdamW, warmup +
cosine learning rate, gradient clipping and accumulation, bf16 autocast on CUDA, periodic
validation, checkpoints, DDP).

Output directory layout::

    OUT/musegen.json, OUT/model.safetensors           the best model (lowest validation bpc)
    OUT/last/musegen.json, OUT/last/model.safetensors the latest weights
    OUT/last/training_state.safetensors + .json        optimizer moments, RNG, step, options

Nothing is pickled: optimizer tensors and RNG states are safetensors, the rest JSON.
Because batches depend only on (seed, step) and torch's RNG state is saved, ``--resume``
reproduces an uninterrupted run exactly (on the same device and thread count).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from musegen_cli.plugin import (
    END,
    PAD,
    Clock,
    LengthBatches,
    ProgressCallback,
    ProgressWindow,
    Run,
    RunFolder,
    TrainingFamily,
    TrainRequest,
    UserError,
    autocast_dtype,
    collate,
    crop_patches,
    decay_groups,
    default_workers,
    load_weights,
    optimizer_step,
    read_manifest,
    set_learning_rate,
    start_run,
    warmup_cosine,
)

from . import conditions as cond
from .model import PRESETS, AbcTransformer, ModelConfig
from .options import Options

FAMILY_NAME = "abc-transformer"


# ----- schedule -----------------------------------------------------------------------------


def learning_rate(step: int, options: Options) -> float:
    """Linear warmup, then cosine decay to ``lr * min_lr_ratio`` at ``max_steps`` (nanoGPT)."""
    return warmup_cosine(step, options.max_steps, options.lr, options.warmup, options.min_lr_ratio)


# ----- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    abc: str  # clean ABC starting with X:1
    conditions: dict[str, str]


@dataclass
class Dataset:
    train: list[Piece]
    valid: list[Piece]
    manifest_hash: str | None
    folder: Path  # the dataset folder (built into the cache unless --data named one)


def _piece(abc: str, labels: Mapping[str, Any]) -> Piece:
    return Piece(abc, cond.from_labels(labels, cond.header_fields(abc)))


def split_pieces(folder: Path, split: str) -> list[Piece]:
    """The pieces of one split (`train`, `valid` or `test`) of a dataset folder."""
    path = folder / f"{split}.jsonl"
    if not path.is_file():
        return []
    pieces = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            pieces.append(_piece(record["abc"], record.get("labels") or {}))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UserError(f"{path}:{number} is not a dataset record ({exc})") from None
    return pieces


def _from_jsonl(folder: Path) -> Dataset:
    splits = {split: split_pieces(folder, split) for split in ("train", "valid")}
    manifest_hash = None
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            manifest_hash = json.loads(manifest.read_text(encoding="utf-8")).get("hash")
        except json.JSONDecodeError:
            manifest_hash = None
    return Dataset(splits["train"], splits["valid"], manifest_hash, folder)


def load_pieces(data: str) -> Dataset:
    """Tunes from a dataset folder, or from `corpus` / music files, which
    `musegen_cli.data.resolve` builds into a cached dataset (labels and splits included);
    test pieces are never used."""
    from musegen_cli.plugin import dataset_folder

    dataset = _from_jsonl(dataset_folder(data, workers=default_workers()))
    if not dataset.train:
        raise UserError(f"found no usable training tunes in {data} (each needs a K: line and notes)")
    return dataset


def piece_patches(piece: Piece, conditions: Mapping[str, str], patch_size: int, max_patches: int,
                  rng: random.Random | None) -> list[list[int]] | None:
    """Patches of a piece with condition lines, cropped to ``max_patches``: its header
    (through ``K:``) and a window of the body, at random with ``rng``, else its start
    (`notation.patch_batches.crop_patches`). A piece whose header alone fills the context
    is skipped (None).
    """
    patches, head = crop_patches(cond.with_conditions(piece.abc, conditions), patch_size, max_patches, rng)
    return None if head >= max_patches else patches


# ----- distributed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    started_here: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device: torch.device) -> tuple[Dist, torch.device]:
    """Join the process group when torchrun (or a test) set RANK and WORLD_SIZE."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if "RANK" not in os.environ or world < 2:
        return Dist(), device
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
        torch.cuda.set_device(device)
    started = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
        started = True
    return Dist(rank, world, started), device


def _any_rank(flag: bool, ddp: Dist, device: torch.device) -> bool:
    if ddp.world == 1:
        return flag
    import torch.distributed as dist

    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def _barrier(ddp: Dist) -> None:
    if ddp.world > 1:
        import torch.distributed as dist

        dist.barrier()


# ----- model config ------------------------------------------------------------------------


def model_config_of(manifest: Mapping[str, Any]) -> ModelConfig:
    try:
        return ModelConfig(**manifest["config"]["model"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"the model's musegen.json has no valid abc-transformer config ({exc})") from None


def _condition_vocab(pieces: list[Piece], previous: Mapping[str, list[str]] | None = None) -> dict[str, list[str]]:
    seen: dict[str, set[str]] = {name: set(values) for name, values in (previous or {}).items()}
    for piece in pieces:
        for name, value in piece.conditions.items():
            seen.setdefault(name, set()).add(value)
    return {name: sorted(values) for name, values in sorted(seen.items())}


#: What `musegen_cli.training.start` needs to resume, init or start an abc-transformer run.
FAMILY = TrainingFamily(name=FAMILY_NAME, noun="an abc-transformer", read_options=Options.from_mapping,
                        presets=PRESETS, config_of=model_config_of, saved_config=lambda info: ModelConfig(**info["model"]))


# ----- evaluation ---------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: AbcTransformer, rows: list[list[list[int]]], chars: list[int], batch_size: int,
             device: torch.device, autocast: Any) -> dict[str, float]:
    """Mean loss per token (nats) and bits per real character over the given pieces."""
    was_training = model.training
    model.eval()
    nats, tokens = 0.0, 0
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    for start in range(0, len(order), batch_size):
        chunk = [rows[i] for i in order[start : start + batch_size]]
        ids, mask = collate(chunk, device)
        with autocast():
            nats -= float(model.log_prob(ids, mask).sum())
        tokens += int(((ids[:, 1:] != PAD) & mask[:, 1:, None]).sum())
    model.train(was_training)
    n_chars = sum(chars)
    return {"loss": nats / max(1, tokens), "bpc": nats / max(1, n_chars) / math.log(2)}


def evaluate_split(model_dir: Path, folder: Path, split: str = "test", batch_size: int = 16) -> dict[str, float]:
    """Loss and bits per character of a saved model on one split, every condition given."""
    from .inference import load

    model = load(model_dir).model
    size, context = model.config.patch_size, model.config.max_patches
    rows, chars = [], []
    for piece in split_pieces(folder, split):
        patches = piece_patches(piece, piece.conditions, size, context, None)
        if patches is not None:
            rows.append(patches)
            chars.append(len(cond.with_conditions(piece.abc, piece.conditions)))
    if not rows:
        raise UserError(f"{folder} has no {split} pieces")
    with torch.no_grad():
        figures = evaluate(model, rows, chars, batch_size, torch.device("cpu"), contextlib.nullcontext)
    return {**figures, "pieces": len(rows), "chars": sum(chars)}


# ----- the loop -----------------------------------------------------------------------------


@dataclass
class _Run(Run[Options, ModelConfig]):
    """One run: its settings (`Run`), data, nets and optimizer, and how far it has come."""

    dataset: Dataset
    vocab: dict[str, list[str]]  # every condition value seen, kept across fine-tuning
    init_provenance: dict[str, Any] | None  # how the starting model was made, for fine-tuned models
    model: AbcTransformer
    net: torch.nn.Module  # the model, wrapped for DDP when several processes train
    optimizer: torch.optim.Optimizer
    device: torch.device
    ddp: Dist
    folder: RunFolder
    clock: Clock
    batches: LengthBatches  # which pieces micro-batch n holds, from the seed alone
    eval_rows: list[list[list[int]]] = field(default_factory=list)
    eval_chars: list[int] = field(default_factory=list)
    step: int = 0
    chars_seen: int = 0
    best_bpc: float = math.inf
    best_step: int | None = None

    @property
    def context(self) -> int:
        return min(self.options.max_patches or self.config.max_patches, self.config.max_patches)

    def autocast(self) -> Any:
        mixed = autocast_dtype(self.device)
        return torch.autocast(self.device.type, dtype=mixed) if mixed is not None else contextlib.nullcontext()

    def accumulate(self) -> tuple[float, int]:
        """Gradients of one optimizer step's micro-batches: (its loss, text characters seen)."""
        options, ddp = self.options, self.ddp
        step_loss, chars = 0.0, 0
        for micro in range(options.accumulate):
            n = (self.step * options.accumulate + micro) * ddp.world + ddp.rank
            rng = random.Random(f"{self.seed}-batch-{n}")
            rows = []
            for index in self.batches[n]:
                piece = self.dataset.train[index]
                chosen = cond.dropout(piece.conditions, rng, options.condition_keep, options.condition_drop_all)
                patches = piece_patches(piece, chosen, self.config.patch_size, self.context, rng)
                if patches is not None:
                    rows.append(patches)
            if not rows:
                continue
            ids, mask = collate(rows, self.device)
            sync = ddp.world == 1 or micro == options.accumulate - 1
            with self.net.no_sync() if not sync else contextlib.nullcontext():
                with self.autocast():
                    loss = self.net(ids, mask, options.char_patch_sample)
                (loss / options.accumulate).backward()
            step_loss += float(loss.detach()) / options.accumulate
            chars += int(((ids[:, 1:] > END) & mask[:, 1:, None]).sum()) * ddp.world
        return step_loss, chars

    def validate(self, train_loss: float, on_progress: ProgressCallback) -> None:
        """Evaluate on the validation pieces, report, and checkpoint (the best model too when it is)."""
        figures = evaluate(self.model, self.eval_rows, self.eval_chars, self.options.batch_size, self.device,
                           self.autocast)
        is_best = figures["bpc"] < self.best_bpc
        if is_best:
            self.best_bpc, self.best_step = figures["bpc"], self.step
        on_progress({"step": self.step, "valid_loss": figures["loss"], "valid_bpc": figures["bpc"]})
        metrics = {
            "best_valid_bpc": self.best_bpc, "best_step": self.best_step, "valid_loss": figures["loss"],
            "valid_bpc": figures["bpc"], "train_loss": train_loss, "steps": self.step,
            "valid_source": "valid" if self.dataset.valid else "train (no validation tunes)",
        }
        self.checkpoint(metrics, is_best)

    def checkpoint(self, metrics: dict[str, Any], is_best: bool) -> None:
        seconds = self.clock.seconds
        provenance = {
            "command": list(sys.argv),
            "data": str(self.request.data),
            "data_manifest_hash": self.dataset.manifest_hash,
            "data_folder": str(self.dataset.folder.resolve()),  # where `generate` finds the training pieces
            "train_pieces": len(self.dataset.train),
            "valid_pieces": len(self.dataset.valid),
            "seed": self.seed,
            "options": asdict(self.options),
            "init_from": str(self.request.init_from) if self.request.init_from else None,
            "init_provenance": self.init_provenance,
            "steps": self.step,
            "chars_seen": self.chars_seen,
            "training_seconds": round(seconds, 2),
            "device": str(self.device),
            "world_size": self.ddp.world,
            "torch": torch.__version__,
        }
        state = {
            "step": self.step, "seed": self.seed, "preset": self.preset, "model": asdict(self.config),
            "options": asdict(self.options), "chars_seen": self.chars_seen,
            "best_valid_bpc": None if math.isinf(self.best_bpc) else self.best_bpc, "best_step": self.best_step,
            "training_seconds": seconds, "conditions": self.vocab,
        }
        self.folder.checkpoint(
            family=FAMILY_NAME, config={"model": asdict(self.config), "preset": self.preset, "conditions": self.vocab,
                                        "condition_format": 1},
            weights=self.model.state_dict(), provenance=provenance, metrics=metrics, is_best=is_best,
            optimizer=self.optimizer, state=state, device=self.device)


def train(request: TrainRequest, on_progress: ProgressCallback) -> Path:
    ddp, device = _init_distributed(torch.device(request.device))
    try:
        run = _prepare(request, ddp, device)
        _loop(run, on_progress)
        return run.folder.out
    finally:
        if ddp.started_here:
            import torch.distributed as dist

            dist.destroy_process_group()


def _prepare(request: TrainRequest, ddp: Dist, device: torch.device) -> _Run:
    """Resume, init or start fresh (`musegen_cli.training.start`), load the data, build the
    nets and the optimizer, and put a resumed run's optimizer and RNG back."""
    clock = Clock()
    folder = RunFolder.at(Path(request.output))
    begun = start_run(FAMILY, folder.out, preset=request.preset, seed=request.seed, values=request.options,
                  resume=request.resume, init_from=request.init_from)
    previous_vocab, init_provenance = None, None
    if begun.saved is not None:
        init_provenance = read_manifest(folder.last).get("provenance", {}).get("init_provenance")
        previous_vocab = begun.saved.info.get("conditions")
    elif begun.manifest is not None:
        previous_vocab = begun.manifest["config"].get("conditions")
        init_provenance = begun.manifest.get("provenance", {})
    options, config = begun.options, begun.config

    dataset = load_pieces(request.data)
    torch.manual_seed(begun.seed)
    model = AbcTransformer(config).to(device)
    if begun.weights is not None:
        model.load_state_dict(load_weights(begun.weights, device))
    model.train()
    net: torch.nn.Module = model
    if ddp.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(decay_groups(model.parameters(), options.weight_decay), lr=options.lr,
                                  betas=(options.beta1, options.beta2), fused=device.type == "cuda" or None)
    run = _Run(request, options, config, begun.preset, begun.seed, dataset,
               _condition_vocab(dataset.train, previous_vocab), init_provenance, model, net, optimizer, device, ddp,
               folder, clock, LengthBatches([len(p.abc) for p in dataset.train], options.batch_size, str(begun.seed)))
    if begun.saved is not None:
        saved = begun.saved.info
        begun.saved.restore_optimizer(optimizer)
        begun.saved.restore_rng(device)
        run.step, run.chars_seen, run.best_step = saved["step"], saved["chars_seen"], saved["best_step"]
        run.best_bpc = saved["best_valid_bpc"] if saved["best_valid_bpc"] is not None else math.inf
        run.clock.before = saved["training_seconds"]
    for piece in (dataset.valid or dataset.train)[: options.eval_pieces]:  # a few tunes may leave valid empty
        rows = piece_patches(piece, piece.conditions, config.patch_size, run.context, None)
        if rows is not None:
            run.eval_rows.append(rows)
            run.eval_chars.append(len(cond.with_conditions(piece.abc, piece.conditions)))
    return run


def _loop(run: _Run, on_progress: ProgressCallback) -> None:
    """Optimizer steps until ``max_steps`` or ``max_minutes``, reporting progress every few
    steps and validating + checkpointing every ``eval_every`` and at the end."""
    options = run.options
    log_every = max(1, min(options.eval_every, 10))
    window = ProgressWindow()
    while run.step < options.max_steps:
        lr = learning_rate(run.step, options)
        set_learning_rate(run.optimizer, lr)
        loss, chars = run.accumulate()
        optimizer_step(run.optimizer, options.grad_clip)
        run.step += 1
        run.chars_seen += chars
        window.add(loss, chars)
        stop = _any_rank(run.clock.past(options.max_minutes), run.ddp, run.device) or run.step >= options.max_steps
        if (run.step % log_every == 0 or stop) and run.ddp.main:
            mean_loss, chars_per_s = window.report()
            on_progress({"step": run.step, "total_steps": options.max_steps, "loss": mean_loss,
                         "chars_per_s": chars_per_s, "lr": lr})
        if run.step % options.eval_every == 0 or stop:
            if run.ddp.main:
                run.validate(loss, on_progress)
            _barrier(run.ddp)
        if stop:
            break
