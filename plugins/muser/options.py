"""The settings of training a muser model: every field is a ``musegen train --set KEY=VALUE`` key.

Kept apart from ``training`` (which imports torch) so that ``musegen train --help`` lists the
keys, their types and defaults from this dataclass without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from musegen_cli.plugin import FRACTION, NON_NEGATIVE, POSITIVE_OR_NONE, POSITIVE_WHOLE, WHOLE, TrainingOptions, setting


@dataclass(frozen=True)
class Options(TrainingOptions):
    """Training settings; ``musegen train --set KEY=VALUE`` overrides any of them."""

    owner = "muser"

    vae_steps: int = setting(1500, WHOLE)  # stage 1: VQ-VAE optimizer steps
    prior_steps: int = setting(1000, WHOLE)  # stage 2: prior optimizer steps
    batch_size: int = setting(16, POSITIVE_WHOLE)
    lr: float = setting(1e-3, NON_NEGATIVE)
    prior_lr: float = setting(1e-3, NON_NEGATIVE)
    warmup: int = setting(50, NON_NEGATIVE)  # linear warmup steps of each stage (capped at a tenth of it)
    weight_decay: float = setting(0.01, NON_NEGATIVE)
    grad_clip: float = setting(1.0, NON_NEGATIVE)  # 0 switches clipping off
    beta: float = setting(0.25, NON_NEGATIVE)  # VQ commitment weight
    reg_weight: float = setting(1.0, NON_NEGATIVE)  # weight of the element regularization loss
    reg_delta: float = setting(1.0, NON_NEGATIVE)  # tanh sharpness of the regularization
    restart_every: int = setting(50, WHOLE)  # steps between dead-code restarts in stage 1 (0: never)
    emotion_drop: float = setting(0.1, FRACTION)  # prior trained without its emotion this often
    eval_every: int = setting(250, POSITIVE_WHOLE)
    eval_pieces: int = setting(64, POSITIVE_WHOLE)
    max_pieces: int | None = setting(None, POSITIVE_OR_NONE)  # only this many training pieces, in turn per quadrant
    max_minutes: float | None = setting(None, POSITIVE_OR_NONE)  # stop earlier when this much wall time has passed

    def conflict(self) -> str | None:
        return "vae_steps + prior_steps must be at least 1" if self.vae_steps + self.prior_steps < 1 else None
