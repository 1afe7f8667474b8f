"""Training a muser model in two stages: the element-regularized VQ-VAE, then the emotion prior.

Steps ``0 .. vae_steps`` fit the VQ-VAE (reconstruction + VQ + element regularization); the
following ``prior_steps`` freeze it, encode every training window to codes once, and fit the
prior on (emotion, codes). ``--set KEY=VALUE`` turns any field of ``Options`` (``options``).

Output directory layout::

    OUT/musegen.json, OUT/model.safetensors             the best model of the latest stage
    OUT/last/musegen.json, OUT/last/model.safetensors   the latest weights
    OUT/last/training_state.safetensors + .json          optimizer moments, RNG, step, options

Nothing is pickled. Batches depend only on (seed, stage, step) and torch's RNG state is
saved, so ``--resume`` reproduces an uninterrupted run exactly (same device and threads).
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from musegen_cli.plugin import (
    Clock,
    ProgressCallback,
    Run,
    RunFolder,
    SavedState,
    TrainingFamily,
    TrainRequest,
    decay_groups,
    load_weights,
    optimizer_step,
    set_learning_rate,
    start_run,
    warmup_cosine,
)

from . import data as muser_data
from . import tokens
from .inference import FAMILY_NAME, config_of, split_weights
from .model import EMOTIONS, NO_EMOTION, PRESETS, ModelConfig, MuserVAE, Prior
from .options import Options

LAST = "last"
#: Steps between progress reports (and the last step of each stage).
LOG_EVERY = 10
#: Each stage's cosine ends at a tenth of its peak learning rate.
FLOOR_RATIO = 0.1

#: What `musegen_cli.training.start` needs to resume, init or start a muser run.
FAMILY = TrainingFamily(name=FAMILY_NAME, noun="a muser model", read_options=Options.from_mapping,
                        presets=PRESETS, config_of=config_of, saved_config=lambda info: ModelConfig(**info["model"]))


# ----- windows and batches --------------------------------------------------------------------


def window_starts(rows: Sequence[Sequence[int]], length: int) -> list[int]:
    """Bar starts at least half a window apart (the windows a piece contributes)."""
    starts, last = [], -length
    for start in tokens.bar_starts(rows) or [0]:
        if start - last >= length // 2:
            starts.append(start)
            last = start
    return starts


def batch(windows: Sequence[Sequence[Sequence[int]]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids [B, L, fields] and element attributes [B, elements]."""
    longest = max(len(w) for w in windows)
    fields = len(tokens.FIELDS)
    ids = torch.full((len(windows), longest, fields), tokens.PAD, dtype=torch.long)
    for i, window in enumerate(windows):
        ids[i, : len(window)] = torch.tensor(window, dtype=torch.long)
    attributes = torch.tensor([tokens.attributes(w).as_list() for w in windows], dtype=torch.float32)
    return ids.to(device), attributes.to(device)


def random_windows(pieces: Sequence[muser_data.Piece], count: int, length: int,
                   rng: random.Random) -> list[list[list[int]]]:
    out = []
    for piece in rng.choices(pieces, k=count):
        start = rng.choice(tokens.bar_starts(piece.rows) or [0])
        out.append(piece.rows[start : start + length])
    return out


def first_windows(pieces: Sequence[muser_data.Piece], length: int) -> list[list[list[int]]]:
    return [p.rows[:length] for p in pieces]


def _optimizer(module: torch.nn.Module, lr: float, options: Options) -> torch.optim.AdamW:
    return torch.optim.AdamW(decay_groups(module.parameters(), options.weight_decay), lr=lr)


# ----- evaluation ---------------------------------------------------------------------------


@torch.no_grad()
def reconstruction(vae: MuserVAE, windows: Sequence[Sequence[Sequence[int]]], device: torch.device,
                   batch_size: int = 16) -> dict[str, float]:
    """Teacher-forced loss and accuracy of every element's field where it holds a value
    (``recon_loss``, ``acc_pitch``, ...), averaged over the windows' events."""
    was_training = vae.training
    vae.eval()
    loss, weight = 0.0, 0
    hits = {name: 0 for name in tokens.ELEMENTS}
    totals = {name: 0 for name in tokens.ELEMENTS}
    for start in range(0, len(windows), batch_size):
        ids, attributes = batch(windows[start : start + batch_size], device)
        out = vae(ids, attributes)
        events = int((out["targets"][..., 0] != tokens.PAD).sum())
        loss += float(out["recon"]) * events
        weight += events
        for name in tokens.ELEMENTS:
            field = tokens.FIELDS.index(tokens.ELEMENT_FIELD[name])
            target = out["targets"][..., field]
            real = target > tokens.IGNORE
            hits[name] += int(((out["logits"][field].argmax(-1) == target) & real).sum())
            totals[name] += int(real.sum())
    vae.train(was_training)
    figures = {"recon_loss": loss / max(1, weight)}
    figures.update({f"acc_{name}": hits[name] / max(1, totals[name]) for name in tokens.ELEMENTS})
    return figures


@torch.no_grad()
def encode_windows(vae: MuserVAE, windows: Sequence[Sequence[Sequence[int]]], device: torch.device,
                   batch_size: int = 32) -> torch.Tensor:
    """Code indices [N, T, elements] of windows, in eval mode."""
    was_training = vae.training
    vae.eval()
    codes = []
    for start in range(0, len(windows), batch_size):
        ids, _ = batch(windows[start : start + batch_size], device)
        codes.append(vae.quantize(vae.encode(ids)[0])[1])
    vae.train(was_training)
    return torch.cat(codes)


def _emotion_ids(quadrants: Sequence[str | None]) -> torch.Tensor:
    return torch.tensor([EMOTIONS.index(q) if q in EMOTIONS else NO_EMOTION for q in quadrants])


# ----- the loop -----------------------------------------------------------------------------


@dataclass
class _Run(Run[Options, ModelConfig]):
    """What both stages share: the settings (`Run`), the data, the nets and where to write."""

    device: torch.device
    dataset: muser_data.Dataset
    vae: MuserVAE
    prior: Prior
    folder: RunFolder
    clock: Clock

    def out_of_time(self) -> bool:
        return self.clock.past(self.options.max_minutes)

    def weights(self) -> dict[str, torch.Tensor]:
        return {**{f"vae.{k}": v for k, v in self.vae.state_dict().items()},
                **{f"prior.{k}": v for k, v in self.prior.state_dict().items()}}

    def checkpoint(self, step: int, optimizer: torch.optim.Optimizer, metrics: dict[str, Any],
                   is_best: bool, best: float, best_step: int | None) -> None:
        model_config = {"model": asdict(self.config), "preset": self.preset, "elements": list(tokens.ELEMENTS),
                        "tokenizer": "miditok.CPWord", "fields": list(tokens.FIELDS)}
        provenance = {
            "command": list(sys.argv), "data": str(self.request.data), "source": self.dataset.source,
            "train_pieces": len(self.dataset.train), "valid_pieces": len(self.dataset.valid),
            "quadrants": dict(muser_data.quadrant_counts(self.dataset.train)), "seed": self.seed,
            "options": asdict(self.options), "steps": step, "training_seconds": round(self.clock.seconds, 2),
            "device": str(self.device), "torch": torch.__version__,
        }
        info = {"step": step, "stage": metrics["stage"], "seed": self.seed, "preset": self.preset,
                "model": asdict(self.config),
                "options": asdict(self.options), "best": None if math.isinf(best) else best,
                "best_step": best_step, "training_seconds": self.clock.seconds}
        self.folder.checkpoint(family=FAMILY_NAME, config=model_config, weights=self.weights(), provenance=provenance,
                               metrics=metrics, is_best=is_best, optimizer=optimizer, state=info)


def train(request: TrainRequest, on_progress: ProgressCallback) -> Path:
    clock = Clock()
    folder = RunFolder.at(Path(request.output))
    device = torch.device(request.device)
    begun = start_run(FAMILY, folder.out, preset=request.preset, seed=request.seed, values=request.options,
                  resume=request.resume, init_from=request.init_from)
    options, config, seed, saved = begun.options, begun.config, begun.seed, begun.saved

    dataset = muser_data.load(request.data, options.max_pieces)
    torch.manual_seed(seed)
    vae, prior = MuserVAE(config).to(device), Prior(config).to(device)
    if begun.weights is not None:
        vae_weights, prior_weights = split_weights(load_weights(begun.weights, device))
        vae.load_state_dict(vae_weights)
        prior.load_state_dict(prior_weights)
    run = _Run(request, options, config, begun.preset, seed, device, dataset, vae, prior, folder, clock)
    step, best, best_step = 0, math.inf, None
    if saved is not None:
        info = saved.info
        clock.before = info["training_seconds"]
        step, best_step = info["step"], info["best_step"]
        best = info["best"] if info["best"] is not None else math.inf
        saved.restore_rng()  # after building the nets, as in the first run
        if info["stage"] == "vae" and step >= options.vae_steps:  # stopped at the hand-over
            saved, best, best_step = None, math.inf, None
    if step < options.vae_steps:
        step, best, best_step = _fit_vae(run, step, best, best_step, saved, on_progress)
        if step < options.vae_steps:  # out of time
            return folder.out
        saved, best, best_step = None, math.inf, None  # the prior starts fresh
    _fit_prior(run, step, best, best_step, saved, on_progress)
    return folder.out


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, lr: float, grad_clip: float) -> None:
    """One optimizer step on ``loss`` at learning rate ``lr``, gradients clipped when asked."""
    set_learning_rate(optimizer, lr)
    loss.backward()
    optimizer_step(optimizer, grad_clip)


def _fit_vae(run: _Run, step: int, best: float, best_step: int | None, saved: SavedState | None,
             on_progress: ProgressCallback) -> tuple[int, float, int | None]:
    options, length = run.options, run.config.max_events - 1
    total = options.vae_steps + options.prior_steps
    optimizer = _optimizer(run.vae, options.lr, options)
    if saved is not None:
        saved.restore_optimizer(optimizer)
    valid = first_windows(run.dataset.valid or run.dataset.train, length)[: options.eval_pieces]
    run.vae.train()
    while step < options.vae_steps:
        lr = warmup_cosine(step, options.vae_steps, options.lr, options.warmup, FLOOR_RATIO)
        rng = random.Random(f"{run.seed}-vae-{step}")
        ids, attributes = batch(random_windows(run.dataset.train, options.batch_size, length, rng), run.device)
        out = run.vae(ids, attributes, options.beta, options.reg_delta)
        loss = out["recon"] + out["vq"] + options.reg_weight * out["reg"]
        _update(optimizer, loss, lr, options.grad_clip)
        step += 1
        if options.restart_every and step % options.restart_every == 0 and step < options.vae_steps:
            for e, quantizer in enumerate(run.vae.quantizers):
                quantizer.restart_dead(out["z"][:, :, e].detach())
        stop = step >= options.vae_steps or run.out_of_time()
        if step % LOG_EVERY == 0 or stop:
            on_progress({"step": step, "total_steps": total, "stage": "vae", "loss": float(loss.detach()),
                         **{k: float(out[k].detach()) for k in ("recon", "vq", "reg")}, "lr": lr})
        if step % options.eval_every == 0 or stop:
            figures = reconstruction(run.vae, valid, run.device)
            is_best = figures["recon_loss"] < best
            if is_best:
                best, best_step = figures["recon_loss"], step
            on_progress({"step": step, **{f"valid_{k}": v for k, v in figures.items()}})
            metrics = {"stage": "vae", "best_valid_recon_loss": best, "best_step": best_step, "steps": step,
                       "train_loss": float(loss.detach()), **{f"valid_{k}": v for k, v in figures.items()}}
            run.checkpoint(step, optimizer, metrics, is_best, best, best_step)
        if stop:
            break
    return step, best, best_step


def _fit_prior(run: _Run, step: int, best: float, best_step: int | None, saved: SavedState | None,
               on_progress: ProgressCallback) -> None:
    options, length = run.options, run.config.max_events - 1
    total = options.vae_steps + options.prior_steps
    windows, quadrants = [], []
    for piece in run.dataset.train:
        for start in window_starts(piece.rows, length):
            windows.append(piece.rows[start : start + length])
            quadrants.append(piece.quadrant)
    codes, emotions = encode_windows(run.vae, windows, run.device), _emotion_ids(quadrants).to(run.device)
    valid = run.dataset.valid or run.dataset.train
    valid_windows = first_windows(valid, length)[: options.eval_pieces]
    valid_codes = encode_windows(run.vae, valid_windows, run.device)
    valid_emotions = _emotion_ids([p.quadrant for p in valid[: options.eval_pieces]]).to(run.device)
    # the VAE is frozen in this stage: its validation figures are the same at every evaluation
    vae_figures = {f"valid_{k}": v for k, v in reconstruction(run.vae, valid_windows, run.device).items()}
    optimizer = _optimizer(run.prior, options.prior_lr, options)
    if saved is not None:
        saved.restore_optimizer(optimizer)
    run.prior.train()
    begin = options.vae_steps
    while step < total:
        lr = warmup_cosine(step - begin, options.prior_steps, options.prior_lr, options.warmup, FLOOR_RATIO)
        rng = random.Random(f"{run.seed}-prior-{step}")
        chosen = torch.tensor(rng.choices(range(len(windows)), k=options.batch_size), device=run.device)
        condition = emotions[chosen].clone()
        dropped = torch.tensor([rng.random() < options.emotion_drop for _ in chosen], device=run.device)
        condition[dropped] = NO_EMOTION
        loss = run.prior(condition, codes[chosen])
        _update(optimizer, loss, lr, options.grad_clip)
        step += 1
        stop = step >= total or run.out_of_time()
        if step % LOG_EVERY == 0 or stop:
            on_progress({"step": step, "total_steps": total, "stage": "prior", "loss": float(loss.detach()), "lr": lr})
        if (step - begin) % options.eval_every == 0 or stop:
            run.prior.eval()
            with torch.no_grad():
                valid_loss = float(run.prior(valid_emotions, valid_codes))
            run.prior.train()
            is_best = valid_loss < best
            if is_best:
                best, best_step = valid_loss, step
            on_progress({"step": step, "valid_prior_loss": valid_loss})
            metrics = {"stage": "prior", "best_valid_prior_loss": best, "best_step": best_step, "steps": step,
                       "train_loss": float(loss.detach()), "valid_prior_loss": valid_loss, **vae_figures}
            run.checkpoint(step, optimizer, metrics, is_best, best, best_step)
        if stop:
            break
