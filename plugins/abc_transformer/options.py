"""The settings of training an abc-transformer: every field is a ``musegen train --set KEY=VALUE`` key.

Kept apart from ``training`` (which imports torch) so that ``musegen train --help`` lists the
keys, their types and defaults from this dataclass without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from musegen_cli.plugin import FRACTION, NON_NEGATIVE, POSITIVE_OR_NONE, POSITIVE_WHOLE, TrainingOptions, setting


@dataclass(frozen=True)
class Options(TrainingOptions):
    """Training settings; ``musegen train --set KEY=VALUE`` overrides any of them."""

    owner = "abc-transformer"

    max_steps: int = setting(2000, POSITIVE_WHOLE)  # optimizer steps; also the length of the cosine schedule
    max_minutes: float | None = setting(None, POSITIVE_OR_NONE)  # stop earlier when this much wall time has passed
    batch_size: int = setting(16, POSITIVE_WHOLE)  # pieces per micro-batch (per process under DDP)
    accumulate: int = setting(1, POSITIVE_WHOLE)  # micro-batches per optimizer step
    lr: float = setting(3e-4, NON_NEGATIVE)
    min_lr_ratio: float = setting(0.1, NON_NEGATIVE)  # the cosine ends at lr * min_lr_ratio
    warmup: int = setting(100, NON_NEGATIVE)  # linear warmup steps (capped at a tenth of max_steps)
    weight_decay: float = setting(0.1, NON_NEGATIVE)
    beta1: float = setting(0.9, FRACTION)
    beta2: float = setting(0.95, FRACTION)
    grad_clip: float = setting(1.0, NON_NEGATIVE)  # 0 switches clipping off
    eval_every: int = setting(200, POSITIVE_WHOLE)  # steps between validation + checkpoint; the last step does both
    eval_pieces: int = setting(256, POSITIVE_WHOLE)  # at most this many validation pieces per evaluation
    condition_keep: float = setting(0.5, FRACTION)  # each condition line kept with this probability ...
    condition_drop_all: float = setting(0.1, FRACTION)  # ... and all dropped with this one
    char_patch_sample: int | None = setting(None, POSITIVE_OR_NONE)  # spell only this many target patches (NotaGen)
    max_patches: int | None = setting(None, POSITIVE_OR_NONE)  # crop length; default and maximum: the model's context
