"""Genomes: the vectors evolution searches, and how each becomes a generation request.

- `DirectionGenome`: one coefficient per steering direction (a `musegen steer fit` folder);
  the coefficient is that direction's signed strength. Low-dimensional and interpretable:
  "+1.2 minor, -0.4 register". Needs the family's layers capability.
- `ConditionGenome`: a choice among condition values (emotion Q1-Q4, mode, tempo, ...): one
  gene per value, and the highest gene of each condition picks its value. Needs the
  family's conditions.
- `EmbeddingGenome`: an offset to a prompt's token embeddings in the text encoder (as
  EvoMusic does with MusicGen), in units of `step` times the embeddings' RMS. Needs the
  family's conditioning-vector capability.

Every candidate is generated with the session's seed (`candidate_seed`, common random
numbers): the same genome always gives the same piece, in this process or on a Ray worker,
so a rating stays attached to exactly the piece that was heard and the winners can be
written out again at the end; and two genomes differ only by what they control.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from musegen_cli.errors import UserError
from musegen_cli.steering.directions import Directions
from musegen_cli.steering.injection import SteeringSpec


@dataclass(frozen=True)
class Controls:
    """What one genome asks the generator for."""

    conditions: dict[str, str]
    steering: list[SteeringSpec]
    embedding: torch.Tensor | None = None  # a point for the conditioning vector, when searched

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in self.conditions.items()]
        parts += [f"{spec.directions.concept}{spec.strength:+.2f}" for spec in self.steering]
        if self.embedding is not None:
            parts.append(f"embedding (norm {float(self.embedding.norm()):.2f})")
        return ", ".join(parts) or "(no controls)"


#: Strengths beyond this break the default model's music (benchmarks/steering.py: at 1 and above
#: nothing parses; 0.1-0.4 moves register with validity near the unsteered model's).
DIRECTION_BOUND = 0.5


class DirectionGenome:
    """Coefficients over steering directions, each within [-bound, bound]."""

    def __init__(self, directions: Sequence[Directions], bound: float = DIRECTION_BOUND,
                 conditions: Mapping[str, str] | None = None) -> None:
        if not directions:
            raise UserError("the directions genome needs at least one --directions folder")
        self.directions, self.bound = list(directions), bound
        self.conditions = dict(conditions or {})

    @property
    def length(self) -> int:
        return len(self.directions)

    @property
    def bounds(self) -> tuple[float, float]:
        return -self.bound, self.bound

    def decode(self, genome: torch.Tensor) -> Controls:
        values = genome.clamp(-self.bound, self.bound).tolist()
        return Controls(dict(self.conditions), [SteeringSpec(d, strength=v) for d, v in zip(self.directions, values)])

    def names(self) -> list[str]:
        return [d.concept for d in self.directions]


class ConditionGenome:
    """One gene per condition value; each condition takes its highest gene's value."""

    def __init__(self, choices: Mapping[str, Sequence[str]], fixed: Mapping[str, str] | None = None) -> None:
        self.choices = {name: list(values) for name, values in choices.items() if values}
        if not self.choices:
            raise UserError("the conditions genome needs at least one condition with values to choose from")
        self.fixed = dict(fixed or {})

    @property
    def length(self) -> int:
        return sum(len(values) for values in self.choices.values())

    @property
    def bounds(self) -> tuple[float, float]:
        return 0.0, 1.0

    def decode(self, genome: torch.Tensor) -> Controls:
        chosen, start = dict(self.fixed), 0
        for name, values in self.choices.items():
            genes = genome[start : start + len(values)]
            chosen[name] = values[int(genes.argmax())]
            start += len(values)
        return Controls(chosen, [])

    def names(self) -> list[str]:
        return [f"{name}={value}" for name, values in self.choices.items() for value in values]


class EmbeddingGenome:
    """Offsets to a prompt's token embeddings [tokens, hidden], each gene within [-bound, bound];
    the point decoded is base + step * RMS(base) * genes."""

    def __init__(self, base: torch.Tensor, bound: float = 3.0, step: float = 0.1,
                 conditions: Mapping[str, str] | None = None) -> None:
        if base.ndim != 2 or base.numel() == 0:
            raise UserError("the embedding genome needs a prompt with at least one token")
        self.base, self.bound = base.float(), bound
        self.unit = step * float(self.base.pow(2).mean().sqrt().clamp_min(1e-6))
        self.conditions = dict(conditions or {})

    @property
    def length(self) -> int:
        return self.base.numel()

    @property
    def bounds(self) -> tuple[float, float]:
        return -self.bound, self.bound

    def decode(self, genome: torch.Tensor) -> Controls:
        offset = genome.float().clamp(-self.bound, self.bound).view_as(self.base) * self.unit
        return Controls(dict(self.conditions), [], embedding=self.base + offset)

    def encode(self, point: torch.Tensor) -> torch.Tensor:
        """The genome of a point (the inverse of `decode` inside the bounds)."""
        return ((point.float() - self.base) / self.unit).flatten()

    def names(self) -> list[str]:
        tokens, hidden = self.base.shape
        return [f"token{t}.{h}" for t in range(tokens) for h in range(hidden)]


def candidate_seed(session_seed: int) -> int:
    """The generation seed of every candidate of a session (common random numbers): fitness
    differences then come from the genomes alone, not from sampling noise, which is what
    CMA-ES and SNES need; and the same genome always gives the same piece."""
    digest = hashlib.sha256(f"{session_seed}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
