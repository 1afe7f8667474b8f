"""Fitness: how a generation of candidate pieces is scored.

- `target`: cosine (scorer embeddings) to a target piece or folder's mean embedding;
- `text`: cosine to a text description;
- `listener`: a synthetic listener, a fixed preference point in the scorer's space that
  rates 1-5 like a person would (the cosine mapped linearly from [low, high] onto [1, 5]),
  for reproducible runs of the rating pipeline;
- `interactive`: a person rates each candidate (`Person`);
- `dynamic`: as EvoMusic does, ratings (a person's, or the synthetic listener's) are asked
  only every `rate_every`-th generation; in between, a listener model (ridge regression from
  embeddings to the ratings so far) scores the candidates.

Every mode subtracts `penalty` from a candidate that is not valid music (does not parse,
bars off the meter) or is degenerate (fewer than `MIN_NOTES` notes), so noise cannot win.

In the rating modes (listener, interactive, dynamic) a piece already rated in the run (the
same ABC text: genomes that decode to the same controls give the same piece) is a *repeat*:
it brings no new information, so it is not asked again (`Person` shows the rating it had),
does not feed the listener model twice, and scores the rating it had less
`REPEAT_PENALTY`. Half a rating step keeps every piece the person rated higher ahead of it,
and puts it behind the piece it repeats and behind a new piece rated the same: proposing
repeats never pays, while a genome that found a well-liked piece is not thrown away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from musegen_cli.evolution.genomes import Controls

#: Fewer notes than this and a piece counts as degenerate.
MIN_NOTES = 8
#: Subtracted from the rating of a piece rated before in the run (module doc), in rating steps.
REPEAT_PENALTY = 0.5


@dataclass
class Candidate:
    generation: int
    index: int
    genome: list[float]
    seed: int
    controls: Controls
    abc: str
    features: Any  # PieceFeatures
    embedding: torch.Tensor | None = None
    fitness: float | None = None
    rating: float | None = None  # a person's or the synthetic listener's 1-5, when asked
    repeat: bool = False  # the piece was rated before in the run (module doc)

    @property
    def acceptable(self) -> bool:
        """Valid music that is not degenerate (the penalty's test)."""
        from musegen_cli.generation import is_valid

        return is_valid(self.abc, self.features) and (self.features.notes or 0) >= MIN_NOTES


class Rater(Protocol):
    def rate(self, candidates: Sequence[Candidate]) -> list[float | None]:
        """A 1-5 rating per candidate (None: skipped)."""


@dataclass
class SyntheticListener:
    """Rates 1-5 by the cosine between a piece's embedding and a preference point."""

    point: torch.Tensor
    low: float = -0.2
    high: float = 0.8

    def rating_of(self, embedding: torch.Tensor) -> float:
        cosine = float(embedding @ self.point)
        share = min(1.0, max(0.0, (cosine - self.low) / (self.high - self.low)))
        return 1.0 + 4.0 * share

    def rate(self, candidates: Sequence[Candidate]) -> list[float | None]:
        return [self.rating_of(c.embedding) for c in candidates]


@dataclass
class ListenerModel:
    """Ridge regression from embeddings to ratings, refitted as ratings arrive."""

    ridge: float = 1.0
    seen: list[tuple[torch.Tensor, float]] = field(default_factory=list)
    weights: torch.Tensor | None = None

    def add(self, embedding: torch.Tensor, rating: float) -> None:
        self.seen.append((embedding.double(), float(rating)))
        x = torch.stack([e for e, _ in self.seen])
        y = torch.tensor([r for _, r in self.seen], dtype=torch.float64)
        x1 = torch.cat((x, torch.ones(len(x), 1, dtype=x.dtype)), 1)
        gram = x1.T @ x1
        gram.diagonal()[:-1].add_(self.ridge)
        self.weights = torch.linalg.solve(gram, x1.T @ y)

    def predict(self, embedding: torch.Tensor) -> float:
        if self.weights is None:
            return 3.0  # no ratings yet: the middle of the scale
        return float(torch.cat((embedding.double(), torch.ones(1, dtype=torch.float64))) @ self.weights)


class Fitness:
    """Scores candidates (which it embeds with the scorer) under one mode (module doc)."""

    def __init__(self, mode: str, scorer: Any, *, point: torch.Tensor | None = None,
                 rater: Rater | None = None, rate_every: int = 2, penalty: float = 1.0) -> None:
        if mode in ("target", "text", "listener") and point is None:
            raise ValueError(f"the {mode} fitness needs a point in the scorer's space")
        if mode in ("interactive", "dynamic") and rater is None:
            raise ValueError(f"the {mode} fitness needs a rater")
        self.mode, self.scorer, self.point, self.rater = mode, scorer, point, rater
        self.rate_every, self.penalty = max(1, rate_every), penalty
        self.listener = SyntheticListener(point) if mode == "listener" and point is not None else None
        self.model = ListenerModel()
        self.rated: dict[str, float] = {}  # ABC text -> the rating it had first (rating modes)

    def rating_round(self, generation: int) -> bool:
        """Whether this generation's candidates are rated (always, except in dynamic mode)."""
        return self.mode != "dynamic" or generation % self.rate_every == 0

    def score(self, candidates: Sequence[Candidate]) -> list[float]:
        embeddings = self.scorer.embed_pieces([c.abc for c in candidates])
        for candidate, embedding in zip(candidates, embeddings):
            candidate.embedding = embedding
        values = self._raw(candidates, embeddings)
        for candidate, value in zip(candidates, values):
            candidate.fitness = value - (0.0 if candidate.acceptable else self.penalty)
        return [c.fitness for c in candidates]

    def _raw(self, candidates: Sequence[Candidate], embeddings: torch.Tensor) -> list[float]:
        if self.mode in ("target", "text"):
            return (embeddings @ self.point).tolist()
        if self.mode == "listener":
            return self._rated(candidates, self.listener.rate(candidates))
        if not self.rating_round(candidates[0].generation):
            return [self.rated[c.abc] - REPEAT_PENALTY if c.abc in self.rated else self.model.predict(e)
                    for c, e in zip(candidates, embeddings)]
        return self._rated(candidates, self.rater.rate(candidates))

    def _rated(self, candidates: Sequence[Candidate], ratings: Sequence[float | None]) -> list[float]:
        """Fitness from ratings: a repeat loses `REPEAT_PENALTY` (module doc); a person's new
        ratings feed the listener model; a skipped candidate gets what that model expects of it."""
        values = []
        for candidate, rating in zip(candidates, ratings):
            candidate.rating = rating
            candidate.repeat = rating is not None and candidate.abc in self.rated
            if rating is None:
                values.append(self.model.predict(candidate.embedding))
            elif candidate.repeat:
                values.append(rating - REPEAT_PENALTY)
            else:
                self.rated[candidate.abc] = rating
                if self.mode != "listener":  # the synthetic listener needs no model of itself
                    self.model.add(candidate.embedding, rating)
                values.append(rating)
        return values
