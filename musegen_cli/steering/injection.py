"""Steering during generation: which layers get a direction, how strongly, and when.

A `SteeringSpec` turns one fitted concept into additions to layer outputs:

- **layers**: `all` (weight 1 each), `top-k` (the k layers whose RFM scored best, weight 1),
  or `exp` (every layer, weight base * exp(-decay * (1 - s)) with s its RFM validation score
  min-max normalised over the layers: the best layer gets `base`, weaker ones less);
- **strength** with a sign (negative pushes away from the concept), in units of the layer's
  typical activation size (`LayerFit.activation_scale`), so one strength suits every layer;
- **schedule** over the generation step t (the patch being written): `constant`,
  `exp-decay` exp(-rate * t), `linear-decay` max(0, 1 - t / horizon), `linear-ramp`
  min(1, t / horizon);
- **probability**: at each step the direction is injected with this probability (one draw
  per step for all layers, from the seed).

`steering_callback` combines several specs (each with its own settings) into the function the
layers capability calls for every layer at every step.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from musegen_cli.errors import UserError
from musegen_cli.steering.directions import Directions

SELECTIONS = ("all", "top-k", "exp")
SCHEDULES = ("constant", "exp-decay", "linear-decay", "linear-ramp")


def layer_weights(scores: Mapping[str, float], selection: str = "exp", top_k: int = 3, base: float = 1.0,
                  decay: float = 3.0) -> dict[str, float]:
    """Weight per layer (module doc); layers left out get no entry."""
    if selection == "all":
        return {name: 1.0 for name in scores}
    if selection == "top-k":
        if top_k < 1:
            raise UserError(f"--top-k must be at least 1, not {top_k}")
        best = sorted(scores, key=lambda name: scores[name], reverse=True)[:top_k]
        return {name: 1.0 for name in best}
    if selection == "exp":
        low, high = min(scores.values()), max(scores.values())
        span = high - low
        return {name: base * math.exp(-decay * (1 - ((s - low) / span if span > 0 else 1.0)))
                for name, s in scores.items()}
    raise UserError(f"unknown layer selection {selection!r}; choose one of {', '.join(SELECTIONS)}")


def schedule_factor(schedule: str, step: int, horizon: int = 64, rate: float = 0.05) -> float:
    """The schedule's multiplier at generation step ``step`` (module doc)."""
    if schedule == "constant":
        return 1.0
    if schedule == "exp-decay":
        return math.exp(-rate * step)
    if schedule == "linear-decay":
        return max(0.0, 1.0 - step / max(1, horizon))
    if schedule == "linear-ramp":
        return min(1.0, step / max(1, horizon))
    raise UserError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")


@dataclass(frozen=True)
class SteeringSpec:
    directions: Directions
    strength: float
    label: str | None = None  # the class to steer towards, for multiclass concepts
    selection: str = "exp"
    top_k: int = 3
    base: float = 1.0
    decay: float = 3.0
    schedule: str = "constant"
    horizon: int = 64
    rate: float = 0.05
    probability: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise UserError(f"injection probability must be between 0 and 1, not {self.probability}")
        schedule_factor(self.schedule, 0)  # validates the name
        if not math.isfinite(self.strength):
            raise UserError(f"strength must be a finite number, not {self.strength}")

    def vectors(self) -> dict[str, torch.Tensor]:
        """Layer -> the vector added at full schedule (strength x weight x scale x direction)."""
        scores = {name: fit.rfm_score for name, fit in self.directions.layers.items()}
        weights = layer_weights(scores, self.selection, self.top_k, self.base, self.decay)
        return {
            name: self.strength * weight * self.directions.layers[name].activation_scale
            * self.directions.direction(name, self.label)
            for name, weight in weights.items()
        }


def steering_callback(specs: Sequence[SteeringSpec], seed: int = 0
                      ) -> Callable[[str, int], torch.Tensor | None]:
    """``add(layer, step)``: the summed additions of every spec at that layer and step."""
    prepared = [(spec, spec.vectors()) for spec in specs]
    rng = random.Random(seed)
    draws: dict[tuple[int, int], bool] = {}

    def add(layer: str, step: int) -> torch.Tensor | None:
        total = None
        for index, (spec, vectors) in enumerate(prepared):
            vector = vectors.get(layer)
            if vector is None:
                continue
            key = (index, step)
            if key not in draws:
                draws[key] = spec.probability >= 1.0 or rng.random() < spec.probability
            factor = schedule_factor(spec.schedule, step, spec.horizon, spec.rate)
            if not draws[key] or factor == 0.0:
                continue
            total = factor * vector if total is None else total + factor * vector
        return total

    return add
