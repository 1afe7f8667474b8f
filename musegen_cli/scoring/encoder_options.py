"""The music encoder's training settings, the ``--set KEY=VALUE`` keys of ``musegen train
--family music-encoder``, apart from the trainer (``encoder_training`` imports torch) so that
``musegen train --help`` lists them from this dataclass alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from musegen_cli.plugin import FRACTION, NON_NEGATIVE, POSITIVE_OR_NONE, POSITIVE_WHOLE, WHOLE, TrainingOptions, setting


@dataclass(frozen=True)
class Options(TrainingOptions):
    """Training settings; ``musegen train --family music-encoder --set KEY=VALUE`` overrides any of them."""

    owner = "the scorer"

    pretrain_steps: int = setting(300, WHOLE)  # masked-patch steps (stage 1)
    align_steps: int = setting(700, WHOLE)  # contrastive steps (stage 2)
    batch_size: int = setting(64, POSITIVE_WHOLE)  # pieces per step; also the contrastive negatives
    lr: float = setting(5e-4, NON_NEGATIVE)
    min_lr_ratio: float = setting(0.1, FRACTION)  # each stage's cosine ends at lr * min_lr_ratio
    warmup: int = setting(50, WHOLE)  # linear warmup steps per stage (capped at a tenth of the stage)
    weight_decay: float = setting(0.05, NON_NEGATIVE)
    grad_clip: float = setting(1.0, NON_NEGATIVE)  # 0 switches clipping off
    mask_ratio: float = setting(0.4, FRACTION)  # share of patches masked in pre-training (M3 masks 45%)
    max_minutes: float | None = setting(None, POSITIVE_OR_NONE)  # wall-time budget of the whole run ...
    pretrain_share: float = setting(0.3, FRACTION)  # ... of which pre-training may use this share ...
    reserve_share: float = setting(0.08, FRACTION)  # ... and this share is kept for the emotion fit and metrics
    eval_every: int = setting(100, POSITIVE_WHOLE)  # steps between validation + checkpoint; a stage's last does both
    eval_pieces: int = setting(512, POSITIVE_WHOLE)  # validation pieces per evaluation (retrieval is among these)
    emotion_pieces: int = setting(4000, POSITIVE_WHOLE)  # train pieces the emotion classifier is fitted on
    emotion_iterations: int = setting(200, WHOLE)  # L-BFGS iterations of the emotion classifier
    emotion_l2: float = setting(1e-3, NON_NEGATIVE)

    def conflict(self) -> str | None:
        if self.batch_size < 2:
            return "batch_size must be at least 2 (contrastive training needs negatives)"
        if self.pretrain_share + self.reserve_share > 1:
            return "pretrain_share + reserve_share must not exceed 1"
        return None


#: Options a preset starts from: the debug preset trains in seconds.
PRESET_OPTIONS: dict[str, dict[str, Any]] = {
    "debug": {
        "pretrain_steps": 20,
        "align_steps": 40,
        "batch_size": 8,
        "lr": 1e-3,
        "warmup": 2,
        "eval_every": 20,
        "eval_pieces": 64,
        "emotion_pieces": 256,
        "emotion_iterations": 50,
    },
    "small": {},
}
