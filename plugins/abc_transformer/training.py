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
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from musegen_cli.contract import ProgressCallback, TrainRequest
from musegen_cli.device import autocast_dtype
from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write
from musegen_cli.model_dir import load_weights, read_manifest, write_model_dir
from musegen_cli.notation.abc_patches import END, PAD
from musegen_cli.notation.patch_batches import LengthBatches, collate, crop_patches
from musegen_cli.parallel import default_workers

from . import conditions as cond
from .model import PRESETS, AbcTransformer, ModelConfig
from .options import Options

FAMILY_NAME = "abc-transformer"
STATE_JSON = "training_state.json"
STATE_TENSORS = "training_state.safetensors"
LAST = "last"


# ----- schedule -----------------------------------------------------------------------------


def learning_rate(step: int, options: Options) -> float:
    """Linear warmup, then cosine decay to ``lr * min_lr_ratio`` at ``max_steps`` (nanoGPT)."""
    warmup = min(options.warmup, options.max_steps // 10)
    if step < warmup:
        return options.lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, options.max_steps - warmup))
    floor = options.lr * options.min_lr_ratio
    return floor + 0.5 * (1 + math.cos(math.pi * progress)) * (options.lr - floor)


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
    from musegen_cli.data.resolve import dataset_folder

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


# ----- model config and checkpoints ----------------------------------------------------------


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


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _load_optimizer(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], saved: Mapping[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in saved.get("scalars", {}).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in saved["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _save_state(folder: Path, optimizer: torch.optim.Optimizer, info: dict[str, Any], device: torch.device) -> None:
    from safetensors.torch import save

    tensors, optimizer_json = _optimizer_tensors(optimizer)
    tensors["rng.torch"] = torch.get_rng_state()
    if device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    atomic_write(folder / STATE_TENSORS, save(tensors))
    atomic_write(folder / STATE_JSON, json.dumps({**info, "optimizer": optimizer_json}, indent=2, sort_keys=True) + "\n")


def _read_state(folder: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    json_path, tensor_path = folder / STATE_JSON, folder / STATE_TENSORS
    if not json_path.is_file() or not tensor_path.is_file():
        raise UserError(f"--resume: {folder} holds no training state ({STATE_JSON}); train without --resume")
    return json.loads(json_path.read_text(encoding="utf-8")), load_file(tensor_path)


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


def train(request: TrainRequest, on_progress: ProgressCallback) -> Path:
    out = Path(request.output)
    last_dir = out / LAST
    ddp, device = _init_distributed(torch.device(request.device))
    try:
        return _train(request, on_progress, out, last_dir, ddp, device)
    finally:
        if ddp.started_here:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(request: TrainRequest, on_progress: ProgressCallback, out: Path, last_dir: Path, ddp: Dist,
           device: torch.device) -> Path:
    started = time.perf_counter()
    saved: dict[str, Any] | None = None
    saved_tensors: dict[str, torch.Tensor] = {}
    previous_vocab: dict[str, list[str]] | None = None
    init_provenance: dict[str, Any] | None = None
    if request.resume:
        saved, saved_tensors = _read_state(last_dir)
        init_provenance = read_manifest(last_dir).get("provenance", {}).get("init_provenance")
        options = Options.from_mapping(request.options, Options.from_mapping(saved["options"]))
        config = ModelConfig(**saved["model"])
        preset = saved["preset"]
        seed = saved["seed"]
        previous_vocab = saved.get("conditions")
    elif request.init_from is not None:
        manifest = read_manifest(Path(request.init_from))
        if manifest["family"] != FAMILY_NAME:
            raise UserError(f"--init-from {request.init_from} holds a {manifest['family']!r} model, not an abc-transformer")
        options = Options.from_mapping(request.options)
        config, preset, seed = model_config_of(manifest), manifest["config"].get("preset", request.preset), request.seed
        previous_vocab = manifest["config"].get("conditions")
        init_provenance = manifest.get("provenance", {})
    else:
        if request.preset not in PRESETS:
            raise UserError(f"unknown preset {request.preset!r}; choose one of: {', '.join(PRESETS)}")
        options = Options.from_mapping(request.options)
        config, preset, seed = PRESETS[request.preset], request.preset, request.seed
    context = min(options.max_patches or config.max_patches, config.max_patches)

    dataset = load_pieces(request.data)
    valid = dataset.valid or dataset.train  # a handful of tunes may leave valid empty
    vocab = _condition_vocab(dataset.train, previous_vocab)
    batches = LengthBatches([len(p.abc) for p in dataset.train], options.batch_size, str(seed))

    torch.manual_seed(seed)
    model = AbcTransformer(config).to(device)
    if request.resume:
        model.load_state_dict(load_weights(last_dir, device))
    elif request.init_from is not None:
        model.load_state_dict(load_weights(Path(request.init_from), device))
    model.train()
    net: torch.nn.Module = model
    if ddp.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": options.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=options.lr, betas=(options.beta1, options.beta2), fused=device.type == "cuda" or None,
    )
    step, best_bpc, best_step, chars_seen = 0, math.inf, None, 0
    trained_seconds = 0.0
    if saved is not None:
        _load_optimizer(optimizer, saved_tensors, saved["optimizer"])
        torch.set_rng_state(saved_tensors["rng.torch"])
        if device.type == "cuda" and "rng.cuda" in saved_tensors:
            torch.cuda.set_rng_state(saved_tensors["rng.cuda"], device)
        step, chars_seen = saved["step"], saved["chars_seen"]
        best_bpc = saved["best_valid_bpc"] if saved["best_valid_bpc"] is not None else math.inf
        best_step, trained_seconds = saved["best_step"], saved["training_seconds"]

    mixed = autocast_dtype(device)

    def autocast():
        return torch.autocast(device.type, dtype=mixed) if mixed is not None else contextlib.nullcontext()

    eval_rows, eval_chars = [], []
    for piece in valid[: options.eval_pieces]:
        rows = piece_patches(piece, piece.conditions, config.patch_size, context, None)
        if rows is not None:
            eval_rows.append(rows)
            eval_chars.append(len(cond.with_conditions(piece.abc, piece.conditions)))

    def checkpoint(metrics: dict[str, Any], is_best: bool, seconds: float) -> None:
        model_config = {"model": asdict(config), "preset": preset, "conditions": vocab, "condition_format": 1}
        provenance = {
            "command": list(sys.argv),
            "data": str(request.data),
            "data_manifest_hash": dataset.manifest_hash,
            "data_folder": str(dataset.folder.resolve()),  # where `generate` finds the training pieces
            "train_pieces": len(dataset.train),
            "valid_pieces": len(dataset.valid),
            "seed": seed,
            "options": asdict(options),
            "init_from": str(request.init_from) if request.init_from else None,
            "init_provenance": init_provenance,  # how the starting model was made, for fine-tuned models
            "steps": step,
            "chars_seen": chars_seen,
            "training_seconds": round(seconds, 2),
            "device": str(device),
            "world_size": ddp.world,
            "torch": torch.__version__,
        }
        weights = model.state_dict()
        write_model_dir(last_dir, family=FAMILY_NAME, config=model_config, state_dict=weights,
                        provenance=provenance, metrics=metrics)
        if is_best:
            write_model_dir(out, family=FAMILY_NAME, config=model_config, state_dict=weights,
                            provenance=provenance, metrics=metrics)
        info = {
            "step": step, "seed": seed, "preset": preset, "model": asdict(config), "options": asdict(options),
            "chars_seen": chars_seen, "best_valid_bpc": None if math.isinf(best_bpc) else best_bpc,
            "best_step": best_step, "training_seconds": seconds, "conditions": vocab,
        }
        _save_state(last_dir, optimizer, info, device)

    log_every = max(1, min(options.eval_every, 10))
    window_loss, window_steps, window_chars, window_start = 0.0, 0, 0, time.perf_counter()
    last_loss = math.nan
    while step < options.max_steps:
        lr = learning_rate(step, options)
        for group in optimizer.param_groups:
            group["lr"] = lr
        step_loss = 0.0
        for micro in range(options.accumulate):
            n = (step * options.accumulate + micro) * ddp.world + ddp.rank
            rng = random.Random(f"{seed}-batch-{n}")
            rows = []
            for index in batches[n]:
                piece = dataset.train[index]
                chosen = cond.dropout(piece.conditions, rng, options.condition_keep, options.condition_drop_all)
                patches = piece_patches(piece, chosen, config.patch_size, context, rng)
                if patches is not None:
                    rows.append(patches)
            if not rows:
                continue
            ids, mask = collate(rows, device)
            sync = ddp.world == 1 or micro == options.accumulate - 1
            ctx = net.no_sync() if not sync else contextlib.nullcontext()
            with ctx:
                with autocast():
                    loss = net(ids, mask, options.char_patch_sample)
                (loss / options.accumulate).backward()
            step_loss += float(loss.detach()) / options.accumulate
            real = int(((ids[:, 1:] > END) & mask[:, 1:, None]).sum()) * ddp.world  # text characters
            window_chars += real
            chars_seen += real
        if options.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), options.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        last_loss = step_loss
        window_loss += step_loss
        window_steps += 1
        elapsed = trained_seconds + time.perf_counter() - started
        out_of_time = options.max_minutes is not None and elapsed >= options.max_minutes * 60
        stop = _any_rank(out_of_time, ddp, device) or step >= options.max_steps
        if (step % log_every == 0 or stop) and ddp.main:
            now = time.perf_counter()
            on_progress({"step": step, "total_steps": options.max_steps, "loss": window_loss / window_steps,
                         "chars_per_s": window_chars / max(1e-9, now - window_start), "lr": lr})
            window_loss, window_steps, window_chars, window_start = 0.0, 0, 0, now
        if step % options.eval_every == 0 or stop:
            if ddp.main:
                figures = evaluate(model, eval_rows, eval_chars, options.batch_size, device, autocast)
                is_best = figures["bpc"] < best_bpc
                if is_best:
                    best_bpc, best_step = figures["bpc"], step
                on_progress({"step": step, "valid_loss": figures["loss"], "valid_bpc": figures["bpc"]})
                metrics = {
                    "best_valid_bpc": best_bpc, "best_step": best_step, "valid_loss": figures["loss"],
                    "valid_bpc": figures["bpc"], "train_loss": last_loss, "steps": step,
                    "valid_source": "valid" if dataset.valid else "train (no validation tunes)",
                }
                checkpoint(metrics, is_best, trained_seconds + time.perf_counter() - started)
            _barrier(ddp)
        if stop:
            break
    return out
