"""One iteration's preference set: sample, score, exclude, rank, pair.

For each condition set, `per_set` pieces are sampled in one seeded batch and scored by the
reward. A piece may be *chosen* only when it passes the strict piece check
(`analysis.piece_check`: it parses, its bars add up, its text keeps the ABC grammar;
otherwise DPO teaches whatever the reward likes, broken bars included), its voices agree (same
number of bars, bar for bar the same length: NotaGen's duration-alignment rule for
multi-voice ABC), and it copies no reference or training piece (`scoring.similarity`, at
or above `copy_threshold`). Within each condition set:

- chosen = the best `round(top * per_set)` eligible pieces by reward (at least one);
- rejected = the worst `round(bottom * per_set)` of the rest (at least one), where pieces
  excluded from the chosen side rank below every eligible one: a broken piece is always a
  good example of what not to write;
- pairs = chosen x rejected, leaving out ties between two eligible pieces (equal rewards
  teach nothing).

Pairs never cross condition sets, and each keeps its conditions, so the policy learns
p(piece | conditions). The set is saved as two JSONL files: `samples.jsonl` (every piece,
its conditions, rewards, and why it was excluded) and `preferences.jsonl` (one pair a line).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from musegen_cli.files import atomic_write

if TYPE_CHECKING:
    from musegen_cli.alignment.rewards import Reward
    from musegen_cli.analysis.features import PieceFeatures
    from musegen_cli.contract import LoadedModel
    from musegen_cli.scoring.similarity import SimilarityIndex

T = TypeVar("T")
Progress = Callable[..., Iterable[Any]]
SAMPLES_FILE = "samples.jsonl"
PAIRS_FILE = "preferences.jsonl"
#: Seed offset between condition sets of one iteration.
SET_SEED_STRIDE = 7_919


@dataclass
class Sample:
    group: int  # index of its condition set
    conditions: dict[str, str]
    abc: str
    features: PieceFeatures
    reward: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    excluded: str | None = None  # why it may not be chosen
    role: str | None = None  # "chosen", "rejected" or None

    @property
    def valid(self) -> bool:
        from musegen_cli.generation import is_valid

        return is_valid(self.abc, self.features)

    def to_dict(self, index: int) -> dict[str, Any]:
        return {"id": index, "group": self.group, "conditions": self.conditions, "abc": self.abc,
                "reward": self.reward, "parts": self.parts, "valid": self.valid, "excluded": self.excluded,
                "role": self.role, "quadrant": self.features.quadrant}


@dataclass(frozen=True)
class Pair:
    chosen: int  # sample indices
    rejected: int


@dataclass
class PreferenceSet:
    samples: list[Sample]
    pairs: list[Pair]

    def save(self, folder: Path) -> None:
        """`samples.jsonl` and `preferences.jsonl` in `folder`, each written atomically."""
        lines = [json.dumps(s.to_dict(i), ensure_ascii=False) for i, s in enumerate(self.samples)]
        atomic_write(folder / SAMPLES_FILE, "".join(line + "\n" for line in lines))
        pairs = []
        for pair in self.pairs:
            chosen, rejected = self.samples[pair.chosen], self.samples[pair.rejected]
            pairs.append(json.dumps({
                "conditions": chosen.conditions, "chosen": chosen.abc, "rejected": rejected.abc,
                "chosen_reward": chosen.reward, "rejected_reward": rejected.reward,
                "chosen_id": pair.chosen, "rejected_id": pair.rejected,
            }, ensure_ascii=False))
        atomic_write(folder / PAIRS_FILE, "".join(line + "\n" for line in pairs))


def _quiet(items: Iterable[T], **_: Any) -> Iterable[T]:
    return items


def draw(model: LoadedModel, condition_sets: Sequence[Mapping[str, str]], per_set: int, seed: int,
         sampling: Mapping[str, float], max_bars: int | None, progress: Progress = _quiet) -> list[Sample]:
    """`per_set` pieces for each condition set, one seeded batch per set, each analyzed."""
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.generation import check

    samples: list[Sample] = []
    for group in progress(range(len(condition_sets)), total=len(condition_sets), description="sampling"):
        given = dict(condition_sets[group])
        request = GenerateRequest(given, per_set, seed + group * SET_SEED_STRIDE, max_bars=max_bars,
                                  sampling=dict(sampling))
        samples += [Sample(group, given, text, check(text)) for text in model.generate(request)]
    return samples


def voices_agree(abc: str) -> bool:
    """Every voice has the same number of bars, bar for bar of the same length."""
    from musegen_cli.analysis.abc_bars import read_abc_bars
    from musegen_cli.analysis.bars import EPSILON
    from musegen_cli.notation.formats import split_abc_tunes

    tunes = split_abc_tunes(abc)
    voices = read_abc_bars(tunes[0] if tunes else abc)
    first = [bar.length for bar in voices[0]]
    for voice in voices[1:]:
        lengths = [bar.length for bar in voice]
        if len(lengths) != len(first) or any(abs(a - b) > EPSILON for a, b in zip(lengths, first)):
            return False
    return True


def exclusion(abc: str, features: PieceFeatures, copies: SimilarityIndex | None, threshold: float) -> str | None:
    """Why a piece may not be chosen (module doc), or None when it may."""
    from musegen_cli.analysis.piece_check import check_piece

    verdict = check_piece(abc, features)
    if not verdict.valid:
        return verdict.reasons[0]
    if not voices_agree(abc):
        return "voices disagree in bar count or bar length"
    if copies is not None and len(copies):
        match = copies.nearest(abc)
        if match.similarity >= threshold:
            return f"copies {match.id} (similarity {match.similarity:.2f})"
    return None


def _count(fraction: float, total: int) -> int:
    return max(1, round(fraction * total))


def select_pairs(samples: list[Sample], top: float, bottom: float) -> list[Pair]:
    """Mark chosen and rejected samples and pair them within each condition set (module doc)."""
    pairs: list[Pair] = []
    for group in sorted({s.group for s in samples}):
        members = [i for i, s in enumerate(samples) if s.group == group]
        eligible = sorted((i for i in members if samples[i].excluded is None), key=lambda i: -samples[i].reward)
        chosen = eligible[: _count(top, len(members))]
        rest = [i for i in members if i not in chosen]
        rest.sort(key=lambda i: (samples[i].excluded is None, samples[i].reward))
        rejected = rest[: _count(bottom, len(members))]
        for c in chosen:
            for r in rejected:
                if samples[r].excluded is None and samples[c].reward <= samples[r].reward:
                    continue
                pairs.append(Pair(c, r))
        used = {p.chosen for p in pairs} | {p.rejected for p in pairs}
        for i in chosen:
            samples[i].role = "chosen" if i in used else None
        for i in rejected:
            samples[i].role = "rejected" if i in used else None
    return pairs


def build_preference_set(model: LoadedModel, condition_sets: Sequence[Mapping[str, str]], per_set: int,
                         seed: int, reward: Reward, *, top: float, bottom: float,
                         copies: SimilarityIndex | None, copy_threshold: float,
                         sampling: Mapping[str, float], max_bars: int | None,
                         progress: Progress = _quiet) -> PreferenceSet:
    """Sample, score, exclude and pair: one iteration's preference set (module doc)."""
    samples = draw(model, condition_sets, per_set, seed, sampling, max_bars, progress)
    total, parts = reward.score([s.abc for s in samples], [s.conditions for s in samples],
                                [s.features for s in samples])
    for i, sample in enumerate(samples):
        sample.reward = total[i]
        sample.parts = {name: values[i] for name, values in parts.items()}
        sample.excluded = exclusion(sample.abc, sample.features, copies, copy_threshold)
    return PreferenceSet(samples, select_pairs(samples, top, bottom))
