"""The model: an order-N Markov chain over bars, kept apart per tune template (M:, L:, K:).

Training counts, for every tune, how often each bar followed each run of N bars. A tune is
padded with N start markers in front and one end marker behind, so the chain also learns how
tunes begin and end. Counts are kept per template (a meter/unit/key combination) because a
bar only means the same thing under the same header: `B4 A4 |` is a half bar under L:1/16
and a whole one under L:1/8.

Generating picks a template, then walks the chain from the start markers, drawing each next
bar in proportion to its count (reshaped by temperature, top-k and top-p), until the end
marker or the bar limit. Plain Python throughout; `family.py` turns the counts into tensors.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from musegen_markov.tunes import TEMPLATE_FIELDS, Tune

START, END = 0, 1  # vocabulary indices of the two markers
MARKERS = ("<start>", "<end>")

Template = tuple[str, str, str]  # (M, L, K)
Context = tuple[int, ...]  # the indices of the previous N bars


@dataclass
class MarkovChain:
    order: int
    vocabulary: list[str] = field(default_factory=lambda: list(MARKERS))
    templates: list[Template] = field(default_factory=list)
    tunes_per_template: list[int] = field(default_factory=list)
    # (template index, context) -> next bar index -> count
    counts: dict[tuple[int, Context], Counter[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._bar_index = {bar: i for i, bar in enumerate(self.vocabulary)}
        self._template_index = {t: i for i, t in enumerate(self.templates)}

    # ----- training -----------------------------------------------------------------------

    def add_tune(self, tune: Tune) -> None:
        """Count the transitions of one tune."""
        group = self._template_id(tune.template)
        self.tunes_per_template[group] += 1
        sequence = [START] * self.order + [self._bar_id(bar) for bar in tune.bars] + [END]
        for i in range(self.order, len(sequence)):
            context = tuple(sequence[i - self.order : i])
            self.counts.setdefault((group, context), Counter())[sequence[i]] += 1

    def seen_fraction(self, tunes: Iterable[Tune]) -> float:
        """Of the transitions in `tunes`, the fraction this chain has seen (a held-out check)."""
        seen = total = 0
        for tune in tunes:
            group = self._template_index.get(tune.template)
            ids = [START] * self.order + [self._bar_index.get(b, -1) for b in tune.bars] + [END]
            for i in range(self.order, len(ids)):
                total += 1
                followers = self.counts.get((group, tuple(ids[i - self.order : i])), {}) if group is not None else {}
                seen += ids[i] in followers
        return seen / total if total else 0.0

    def _bar_id(self, bar: str) -> int:
        if bar not in self._bar_index:
            self._bar_index[bar] = len(self.vocabulary)
            self.vocabulary.append(bar)
        return self._bar_index[bar]

    def _template_id(self, template: Template) -> int:
        if template not in self._template_index:
            self._template_index[template] = len(self.templates)
            self.templates.append(template)
            self.tunes_per_template.append(0)
        return self._template_index[template]

    # ----- saving and loading (config for JSON, integer columns for safetensors) ---------

    def to_config(self) -> dict:
        return {
            "order": self.order,
            "vocabulary": self.vocabulary,
            "templates": [
                {**dict(zip(TEMPLATE_FIELDS, template)), "tunes": n}
                for template, n in zip(self.templates, self.tunes_per_template)
            ],
        }

    def to_columns(self) -> dict[str, list]:
        """The counts as flat integer columns: one row per context, one per transition."""
        columns: dict[str, list] = {"contexts": [], "context_template": [], "context_index": [], "next_index": [], "count": []}
        for row, ((group, context), followers) in enumerate(sorted(self.counts.items())):
            columns["contexts"].append(list(context))
            columns["context_template"].append(group)
            for next_bar, n in sorted(followers.items()):
                columns["context_index"].append(row)
                columns["next_index"].append(next_bar)
                columns["count"].append(n)
        return columns

    @classmethod
    def from_saved(cls, config: Mapping, columns: Mapping[str, Sequence]) -> MarkovChain:
        """Rebuild a chain from `to_config()` and `to_columns()` output; ValueError if they disagree."""
        order = int(config["order"])
        vocabulary = [str(bar) for bar in config["vocabulary"]]
        if order < 1 or tuple(vocabulary[:2]) != MARKERS:
            raise ValueError("the config has no valid order or vocabulary")
        templates = [tuple(str(t[name]) for name in TEMPLATE_FIELDS) for t in config["templates"]]
        chain = cls(order, vocabulary, templates, [int(t["tunes"]) for t in config["templates"]])
        contexts, groups = columns["contexts"], columns["context_template"]
        if len(contexts) != len(groups) or any(len(c) != order for c in contexts):
            raise ValueError(f"the context table does not match order {order}")
        keys = [(int(g), tuple(int(i) for i in c)) for g, c in zip(groups, contexts)]
        for row, next_bar, n in zip(columns["context_index"], columns["next_index"], columns["count"]):
            if not 0 <= next_bar < len(vocabulary) or not 0 <= keys[row][0] < len(templates):
                raise ValueError("a transition points outside the vocabulary or templates")
            chain.counts.setdefault(keys[row], Counter())[int(next_bar)] += int(n)
        return chain

    # ----- generating ------------------------------------------------------------------------

    def templates_matching(self, meter: str | None, key: str | None) -> list[int]:
        return [
            i
            for i, (m, _unit, k) in enumerate(self.templates)
            if (meter is None or m == meter) and (key is None or k == key)
        ]

    def pick_template(self, candidates: Sequence[int], rng: random.Random) -> int:
        """A template drawn in proportion to how many training tunes used it."""
        return rng.choices(list(candidates), weights=[self.tunes_per_template[i] for i in candidates])[0]

    def context_of(self, bars: Sequence[str]) -> Context | None:
        """The context the last N of `bars` make, None if one of them is not in the vocabulary."""
        ids = [START] * self.order + [self._bar_index.get(bar, -1) for bar in bars]
        context = tuple(ids[-self.order :])
        return None if -1 in context else context

    def knows(self, group: int, context: Context) -> bool:
        return (group, context) in self.counts

    def walk(
        self,
        group: int,
        rng: random.Random,
        *,
        context: Context | None = None,
        max_bars: int,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
    ) -> list[str]:
        """Bars drawn from the chain of one template, from `context` (default: a tune's start)."""
        context = context or (START,) * self.order
        bars: list[str] = []
        while len(bars) < max_bars:
            followers = self.counts.get((group, context))
            if not followers:  # only a context from outside this template can end up here
                break
            next_bar = draw(followers, rng, temperature=temperature, top_k=top_k, top_p=top_p)
            if next_bar == END:
                break
            bars.append(self.vocabulary[next_bar])
            context = (*context[1:], next_bar)
        return bars


def draw(counts: Mapping[int, int], rng: random.Random, *, temperature: float, top_k: int, top_p: float) -> int:
    """One index drawn from `counts`, sharpened by temperature and cut by top-k and top-p.

    Temperature T turns a count c into the weight c ** (1 / T) (T = 0: always the most frequent);
    top-k keeps the k most frequent; top-p keeps the most frequent until they hold p of the mass.
    """
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if temperature <= 0:
        return ranked[0][0]
    if top_k > 0:
        ranked = ranked[:top_k]
    weights = [c ** (1.0 / temperature) for _, c in ranked]
    if top_p < 1.0:
        total, kept, mass = sum(weights), 0, 0.0
        while kept < len(weights) and mass < top_p * total:
            mass += weights[kept]
            kept += 1
        ranked, weights = ranked[: max(kept, 1)], weights[: max(kept, 1)]
    point = rng.random() * sum(weights)
    for (index, _), weight in zip(ranked, weights):
        point -= weight
        if point < 0:
            return index
    return ranked[-1][0]
