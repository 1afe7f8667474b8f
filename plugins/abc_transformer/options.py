"""The settings of training an abc-transformer: every field is a ``musegen train --set KEY=VALUE`` key.

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

    max_steps: int = 2000  # optimizer steps; also the length of the cosine schedule
    max_minutes: float | None = None  # stop earlier when this much wall time has passed
    batch_size: int = 16  # pieces per micro-batch (per process under DDP)
    accumulate: int = 1  # micro-batches per optimizer step
    lr: float = 3e-4
    min_lr_ratio: float = 0.1  # the cosine ends at lr * min_lr_ratio
    warmup: int = 100  # linear warmup steps (capped at a tenth of max_steps)
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 switches clipping off
    eval_every: int = 200  # steps between validation + checkpoint; the last step always does both
    eval_pieces: int = 256  # at most this many validation pieces per evaluation
    condition_keep: float = 0.5  # each condition line kept with this probability ...
    condition_drop_all: float = 0.1  # ... and all dropped with this one
    char_patch_sample: int | None = None  # spell only this many target patches per batch (NotaGen)
    max_patches: int | None = None  # crop length; default and maximum: the model's context

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: Options | None = None) -> Options:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise UserError(f"abc-transformer has no training option {unknown[0]!r}; its options: {', '.join(fields)}")
        merged = {**asdict(base or cls()), **values}
        for name in ("max_steps", "batch_size", "accumulate", "eval_every", "eval_pieces"):
            if not isinstance(merged[name], int) or isinstance(merged[name], bool) or merged[name] < 1:
                raise UserError(f"{name} must be a positive whole number, got {merged[name]!r}")
        for name in ("lr", "warmup", "weight_decay", "grad_clip", "min_lr_ratio"):
            if not isinstance(merged[name], (int, float)) or isinstance(merged[name], bool) or merged[name] < 0:
                raise UserError(f"{name} must be a number >= 0, got {merged[name]!r}")
        for name in ("condition_keep", "condition_drop_all", "beta1", "beta2"):
            if not isinstance(merged[name], (int, float)) or not 0 <= merged[name] <= 1:
                raise UserError(f"{name} must be a number from 0 to 1, got {merged[name]!r}")
        for name in ("max_minutes", "char_patch_sample", "max_patches"):
            value = merged[name]
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
                raise UserError(f"{name} must be a positive number, got {value!r}")
        return cls(**merged)
