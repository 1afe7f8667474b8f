"""The settings of training a muser model: every field is a ``musegen train --set KEY=VALUE`` key.

Kept apart from ``training`` (which imports torch) so that ``musegen train --help`` lists the
keys, their types and defaults from this dataclass without loading torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from musegen_cli.errors import UserError


@dataclass(frozen=True)
class Options:
    """Training settings; ``musegen train --set KEY=VALUE`` overrides any of them."""

    vae_steps: int = 1500  # stage 1: VQ-VAE optimizer steps
    prior_steps: int = 1000  # stage 2: prior optimizer steps
    batch_size: int = 16
    lr: float = 1e-3
    prior_lr: float = 1e-3
    warmup: int = 50  # linear warmup steps of each stage (capped at a tenth of it)
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # 0 switches clipping off
    beta: float = 0.25  # VQ commitment weight
    reg_weight: float = 1.0  # weight of the element regularization loss
    reg_delta: float = 1.0  # tanh sharpness of the regularization
    restart_every: int = 50  # steps between dead-code restarts in stage 1 (0: never)
    emotion_drop: float = 0.1  # prior trained without its emotion this often
    eval_every: int = 250
    eval_pieces: int = 64
    max_pieces: int | None = None  # use only this many training pieces, taken in turn from each quadrant
    max_minutes: float | None = None  # stop earlier when this much wall time has passed

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: Options | None = None) -> Options:
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise UserError(f"muser has no training option {unknown[0]!r}; its options: {', '.join(fields)}")
        merged = {**asdict(base or cls()), **values}
        for name in ("vae_steps", "prior_steps", "restart_every"):
            if not isinstance(merged[name], int) or isinstance(merged[name], bool) or merged[name] < 0:
                raise UserError(f"{name} must be a whole number >= 0, got {merged[name]!r}")
        for name in ("batch_size", "eval_every", "eval_pieces"):
            if not isinstance(merged[name], int) or isinstance(merged[name], bool) or merged[name] < 1:
                raise UserError(f"{name} must be a positive whole number, got {merged[name]!r}")
        for name in ("lr", "prior_lr", "warmup", "weight_decay", "grad_clip", "beta", "reg_weight", "reg_delta"):
            if not isinstance(merged[name], (int, float)) or isinstance(merged[name], bool) or merged[name] < 0:
                raise UserError(f"{name} must be a number >= 0, got {merged[name]!r}")
        if not isinstance(merged["emotion_drop"], (int, float)) or not 0 <= merged["emotion_drop"] <= 1:
            raise UserError(f"emotion_drop must be a number from 0 to 1, got {merged['emotion_drop']!r}")
        for name in ("max_pieces", "max_minutes"):
            value = merged[name]
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
                raise UserError(f"{name} must be a positive number, got {value!r}")
        if merged["vae_steps"] + merged["prior_steps"] < 1:
            raise UserError("vae_steps + prior_steps must be at least 1")
        return cls(**merged)
