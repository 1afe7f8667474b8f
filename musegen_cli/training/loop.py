"""Small pieces of a training loop that every trainer repeats: the wall clock across
resumes, the progress window, AdamW's parameter groups and one optimizer step."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch


@dataclass
class Clock:
    """Training seconds, counting those of the runs this one resumes."""

    before: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.started

    def past(self, minutes: float | None) -> bool:
        """Whether ``minutes`` (None: no limit) of training have passed."""
        return minutes is not None and self.seconds >= minutes * 60


@dataclass
class ProgressWindow:
    """The mean loss and the throughput since the last report (what a progress line shows)."""

    loss: float = 0.0
    steps: int = 0
    amount: float = 0.0  # characters, pieces, ... seen
    started: float = field(default_factory=time.perf_counter)

    def add(self, loss: float, amount: float = 0.0) -> None:
        self.loss += loss
        self.steps += 1
        self.amount += amount

    def report(self) -> tuple[float, float]:
        """(mean loss, amount per second) of the window, which then starts again."""
        now = time.perf_counter()
        figures = self.loss / max(1, self.steps), self.amount / max(1e-9, now - self.started)
        self.loss, self.steps, self.amount, self.started = 0.0, 0, 0.0, now
        return figures


def decay_groups(params: Iterable[torch.nn.Parameter], weight_decay: float) -> list[dict]:
    """AdamW groups: matrices decay by ``weight_decay``, vectors and scalars not at all."""
    params = list(params)
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def optimizer_step(optimizer: torch.optim.Optimizer, grad_clip: float) -> None:
    """Clip the gradients of what ``optimizer`` trains to ``grad_clip`` (0: no clipping),
    step, and clear them."""
    if grad_clip:
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
