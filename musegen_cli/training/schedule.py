"""The learning rate every built-in trainer uses: linear warmup, then a cosine decay."""

from __future__ import annotations

import math


def warmup_cosine(step: int, total: int, peak: float, warmup: int, floor_ratio: float) -> float:
    """The rate at ``step`` of ``total``: a linear warmup to ``peak`` over ``warmup`` steps
    (at most a tenth of ``total``), then a cosine down to ``peak * floor_ratio`` at ``total``
    (nanoGPT's schedule)."""
    warmup = min(warmup, total // 10)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    floor = peak * floor_ratio
    return floor + 0.5 * (1 + math.cos(math.pi * progress)) * (peak - floor)
