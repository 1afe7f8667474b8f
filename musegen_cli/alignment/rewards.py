"""Rewards: what makes one sampled piece preferable to another.

A reward maps pieces (ABC), the conditions each was sampled under and the analyzer's
features of each to one float per piece, higher is better:

- `emotion`: the scorer's probability of the quadrant the piece was asked for (every
  condition set must name an emotion);
- `reference`: the scorer's cosine to a reference set's centroid (NotaGen's CLaMP-DPO score);
- `text`: the scorer's cosine to a description;
- `rules`: the analyzer's checks, averaged: the piece passes the strict piece check,
  its analyzed quadrant is the requested one (only when an emotion was asked for), and its
  scale consistency (share of notes in one diatonic scale). A piece that does not parse gets 0.

`--reward emotion=0.7,rules=0.3` is their weighted sum; a bare name weighs 1. Every reward is
checked against what it needs before any sampling (`build_reward`), so a run never samples
for minutes and then finds it cannot score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from musegen_cli.errors import UserError

if TYPE_CHECKING:
    import torch

    from musegen_cli.analysis.features import PieceFeatures
    from musegen_cli.scoring.reference import ReferenceSet
    from musegen_cli.scoring.scorer import Scorer

REWARDS = ("emotion", "reference", "text", "rules")
#: Rewards computed from the scorer's embeddings (the others need no scorer).
LEARNED = frozenset({"emotion", "reference", "text"})
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")


def parse_reward(spec: str) -> dict[str, float]:
    """`"emotion=0.7,rules=0.3"` -> {"emotion": 0.7, "rules": 0.3}; `"emotion"` -> weight 1."""
    weights: dict[str, float] = {}
    for item in spec.split(","):
        name, sep, value = item.strip().partition("=")
        name = name.strip()
        if not name:
            continue
        if name not in REWARDS:
            raise UserError(f"unknown reward {name!r}; choose from {', '.join(REWARDS)} (e.g. emotion=0.7,rules=0.3)")
        if name in weights:
            raise UserError(f"the reward {name!r} is given twice in {spec!r}")
        try:
            weight = float(value) if sep else 1.0
        except ValueError:
            raise UserError(f"the weight of {name!r} must be a number, got {value!r}") from None
        if weight <= 0:
            raise UserError(f"the weight of {name!r} must be positive, got {value}")
        weights[name] = weight
    if not weights:
        raise UserError(f"no reward in {spec!r}; choose from {', '.join(REWARDS)}")
    return weights


@dataclass
class Reward:
    """A weighted sum of rewards, with what the learned ones score against."""

    weights: Mapping[str, float]
    scorer: Scorer | None = None
    reference: ReferenceSet | None = None
    text_embedding: torch.Tensor | None = None

    def score(self, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
              features: Sequence[PieceFeatures]) -> tuple[list[float], dict[str, list[float]]]:
        """The total reward of each piece, and each named part (unweighted)."""
        parts: dict[str, list[float]] = {}
        embeddings = None
        if LEARNED & set(self.weights):
            assert self.scorer is not None
            embeddings = self.scorer.embed_pieces(list(pieces))
        for name in self.weights:
            if name == "rules":
                parts[name] = [rules_reward(p, f, c) for p, f, c in zip(pieces, features, conditions)]
            elif name == "emotion":
                probs = self.scorer.emotion_probs(embeddings)  # type: ignore[union-attr]
                parts[name] = [float(probs[i, QUADRANTS.index(c["emotion"])]) for i, c in enumerate(conditions)]
            elif name == "reference":
                from musegen_cli.scoring.reference import reference_scores

                parts[name] = reference_scores(embeddings, self.reference).tolist()  # type: ignore[arg-type]
            else:
                parts[name] = (embeddings @ self.text_embedding).tolist()  # type: ignore[operator]
        total = [sum(self.weights[n] * parts[n][i] for n in self.weights) for i in range(len(pieces))]
        return total, parts


def rules_reward(abc: str, features: PieceFeatures, conditions: Mapping[str, str]) -> float:
    """The analyzer's checks averaged (module doc); 0 for a piece that does not parse."""
    from musegen_cli.generation import is_valid

    if not features.parses or not features.notes:
        return 0.0
    checks = [1.0 if is_valid(abc, features) else 0.0, features.scale_consistency or 0.0]
    if "emotion" in conditions:
        checks.append(1.0 if features.quadrant == conditions["emotion"] else 0.0)
    return sum(checks) / len(checks)


def check_scorable(weights: Mapping[str, float], conditions: Sequence[Mapping[str, str]],
                   has_reference: bool, has_text: bool) -> None:
    """Refuse a reward that could not score these runs' pieces (before anything is sampled)."""
    if "reference" in weights and not has_reference:
        raise UserError("the reference reward needs --reference (a music folder, corpus:NAME or a feature file)")
    if "text" in weights and not has_text:
        raise UserError('the text reward needs --text "a description"')
    if "emotion" in weights:
        missing = [c for c in conditions if c.get("emotion") not in QUADRANTS]
        if missing:
            raise UserError("the emotion reward needs an emotion (Q1-Q4) in every condition set; "
                            "use --emotions Q1,Q2,Q3,Q4 or --conditions emotion=Q1,...")


def build_reward(weights: Mapping[str, float], conditions: Sequence[Mapping[str, str]], *,
                 scorer: Scorer | None, reference: ReferenceSet | None = None, text: str | None = None) -> Reward:
    """A checked `Reward`; `scorer` is needed only by the learned rewards."""
    check_scorable(weights, conditions, reference is not None, text is not None)
    if LEARNED & set(weights) and scorer is None:
        raise UserError(f"the {', '.join(sorted(LEARNED & set(weights)))} reward needs a scorer (--scorer PATH)")
    if reference is not None and scorer is not None:
        reference.check_version(scorer)
    text_embedding = scorer.embed_texts([text])[0] if text is not None and scorer is not None else None
    return Reward(dict(weights), scorer, reference, text_embedding)
