"""Two tables of `generation_quality.py`: how like real tunes generated pieces are, and how
much of each condition the model holds by itself.

"Like real tunes" compares the analyzer's features (`analysis.features`) of generated pieces
with those of held-out corpus tunes (the test split, never trained on): the shares that end
in the tonic triad of their key and on the tonic, and, for each continuous feature, its mean
on both sides and the overlapping area (OA) of the two histograms, the measure of Yang &
Lerch (2020, "On the evaluation of generative models in music"): 1 when the distributions
coincide, 0 when they do not meet. Each histogram has `OA_BINS` equal bins over the pooled
1st-99th percentile range of both sides (values outside fall in the end bins, so one
outlier cannot squash every other piece into one bin); integer features get bins no
narrower than 1.

"By itself" asks for one condition value at a time with the header plan off (the prompt lines
alone: nothing writes `K:`, `M:` or `Q:` for the model) and gives the share of pieces that
hold it by `analysis.adherence` (the check `musegen generate` reports).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: Continuous features compared by overlapping area: (field of PieceFeatures, integer-valued).
OA_FEATURES: dict[str, bool] = {
    "bars": True,
    "repetition": False,
    "pitch_class_entropy": False,
    "pitch_range": True,
    "step_share": False,
    "leap_share": False,
    "duration_entropy": False,
}
OA_BINS = 20
#: Condition values asked for one at a time in the "by itself" table.
BY_ITSELF: dict[str, tuple[str, ...]] = {
    "mode": ("major", "minor"),
    "tempo": ("fast", "slow"),
    "register": ("high", "low"),
    "key": ("G", "D", "Am", "Em"),
    "meter": ("4/4", "6/8", "3/4", "2/4"),
    "emotion": ("Q1", "Q2", "Q3", "Q4"),
}
#: Goals of the default-model issue for the "by itself" shares, per condition kind.
BY_ITSELF_GOALS = {"mode": 0.90, "key": 0.80, "meter": 0.90, "tempo": 0.85, "register": 0.85}


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def overlap_area(a: Sequence[float], b: Sequence[float], bins: int = OA_BINS, integer: bool = False) -> float | None:
    """Overlapping area of the normalised histograms of ``a`` and ``b`` (module doc); None
    when either side is empty."""
    if not a or not b:
        return None
    pooled = sorted([*a, *b])
    low, high = _quantile(pooled, 0.01), _quantile(pooled, 0.99)
    if integer:
        low, high = math.floor(low), math.floor(high) + 1
        bins = max(1, min(bins, high - low))
    if high <= low:
        return 1.0 if min(pooled) == max(pooled) else overlap_area(a, b, bins, integer=True)
    width = (high - low) / bins

    def histogram(values: Sequence[float]) -> list[float]:
        counts = [0] * bins
        for value in values:
            counts[min(bins - 1, max(0, int((value - low) // width)))] += 1
        return [count / len(values) for count in counts]

    return sum(min(p, q) for p, q in zip(histogram(a), histogram(b)))


@dataclass(frozen=True)
class FeatureRow:
    """One continuous feature: its mean in generated pieces and in the corpus, and the OA."""

    name: str
    generated_mean: float | None
    corpus_mean: float | None
    overlap: float | None


def _values(features: Sequence[Any], name: str) -> list[float]:
    return [float(v) for f in features if f.parses and (v := getattr(f, name)) is not None]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _share(features: Sequence[Any], test: Callable[[Any], bool]) -> float | None:
    return sum(1 for f in features if test(f)) / len(features) if features else None


def like_real_tunes(generated: Sequence[Any], corpus: Sequence[Any]) -> dict[str, Any]:
    """The "like real tunes" comparison of two lists of `PieceFeatures` (module doc); a piece
    that does not parse counts against the ending shares and is left out of the histograms."""
    rows = [
        FeatureRow(name, _mean(g := _values(generated, name)), _mean(c := _values(corpus, name)),
                   overlap_area(g, c, integer=integer))
        for name, integer in OA_FEATURES.items()
    ]
    overlaps = [row.overlap for row in rows if row.overlap is not None]
    endings = {
        name: {"generated": _share(generated, test), "corpus": _share(corpus, test)}
        for name, test in (("tonic_triad_ending", lambda f: bool(f.ends_in_tonic_triad)),
                           ("tonic_ending", lambda f: bool(f.ends_on_tonic)))
    }
    return {
        "generated": len(generated),
        "corpus": len(corpus),
        "endings": endings,
        "features": [row.__dict__ for row in rows],
        "mean_overlap": _mean(overlaps),
        "min_overlap": min(overlaps) if overlaps else None,
    }


def likeness_goals(table: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """The default-model issue's goals on this table: (name, met, shown value)."""
    triad = table["endings"]["tonic_triad_ending"]
    repetition = next(row for row in table["features"] if row["name"] == "repetition")
    goals = []
    if triad["generated"] is not None and triad["corpus"] is not None:
        gap = 100 * (triad["corpus"] - triad["generated"])
        goals.append(("tonic-triad endings within 5 points of the corpus", gap <= 5,
                      f"{100 * triad['generated']:.1f}% against {100 * triad['corpus']:.1f}%"))
    if repetition["generated_mean"] is not None and repetition["corpus_mean"]:
        ratio = repetition["generated_mean"] / repetition["corpus_mean"]
        goals.append(("bar repetition >= 75% of the corpus's", ratio >= 0.75, f"{100 * ratio:.0f}% of it"))
    if table["mean_overlap"] is not None:
        goals.append(("mean OA >= 0.85", table["mean_overlap"] >= 0.85, f"{table['mean_overlap']:.3f}"))
        goals.append(("no feature's OA below 0.7", table["min_overlap"] >= 0.7, f"lowest {table['min_overlap']:.3f}"))
    return goals


def by_itself_cells() -> list[tuple[str, str]]:
    """(condition kind, value) of every "by itself" cell, in table order."""
    return [(kind, value) for kind, values in BY_ITSELF.items() for value in values]


def by_itself_summary(held: dict[tuple[str, str], list[bool | None]]) -> dict[str, Any]:
    """Per cell and per kind, the share of pieces that held the condition (a piece whose
    holding could not be judged counts as not held)."""
    cells = {f"{kind}={value}": sum(1 for h in found if h is True) / len(found) if found else None
             for (kind, value), found in held.items()}
    kinds: dict[str, Any] = {}
    for kind in BY_ITSELF:
        found = [h for (k, _v), values in held.items() if k == kind for h in values]
        if found:
            kinds[kind] = sum(1 for h in found if h is True) / len(found)
    return {"cells": cells, "kinds": kinds}


def run_by_itself(generate: Callable[[dict[str, str], int, int], list[Any]], count: int,
                  seed: int) -> dict[tuple[str, str], list[bool | None]]:
    """`count` pieces per cell through ``generate(conditions, count, seed)`` (a model with its
    header plan off, returning `generation.CheckedPiece`s); per cell, whether each held."""
    held: dict[tuple[str, str], list[bool | None]] = {}
    for number, (kind, value) in enumerate(by_itself_cells()):
        found = []
        for piece in generate({kind: value}, count, seed + 7919 * number):
            found.append(next((r.held for r in piece.held if r.name == kind), None))
        held[(kind, value)] = found
    return held


def show_likeness(out: Any, table: dict[str, Any], source: str) -> None:
    """Print the "like real tunes" table and its goals."""
    from rich.table import Table

    def number(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    shown = Table(title=f"Like real tunes — {table['generated']} generated pieces against {table['corpus']} of {source}")
    for name in ("feature", "generated", "corpus", "OA"):
        shown.add_column(name, justify="left" if name == "feature" else "right")
    for name, shares in table["endings"].items():
        shown.add_row(name.replace("_", " ") + " %", *(number(None if v is None else 100 * v, 1)
                                                       for v in (shares["generated"], shares["corpus"])), "-")
    for row in table["features"]:
        shown.add_row(row["name"].replace("_", " ") + " (mean)", number(row["generated_mean"]),
                      number(row["corpus_mean"]), number(row["overlap"]))
    shown.add_row("mean OA", "", "", number(table["mean_overlap"]))
    out.print(shown)
    for name, met, value in likeness_goals(table):
        out.print(f"{'[green]✓[/green]' if met else '[red]✗[/red]'} {name}: {value}")


def show_by_itself(out: Any, summary: dict[str, Any], count: int) -> None:
    """Print the "by itself" table (header plan off) and its goals."""
    from rich.table import Table

    shown = Table(title=f"By itself — header plan off, {count} pieces per value: share that held the condition")
    shown.add_column("condition", justify="left")
    shown.add_column("held%", justify="right")
    for cell, share in summary["cells"].items():
        shown.add_row(cell, "-" if share is None else f"{100 * share:.1f}")
    out.print(shown)
    for kind, share in summary["kinds"].items():
        goal = BY_ITSELF_GOALS.get(kind)
        if goal is not None:
            mark = "[green]✓[/green]" if share >= goal else "[red]✗[/red]"
            out.print(f"{mark} {kind} by itself: {100 * share:.1f}% (goal >= {100 * goal:.0f}%)")


def by_itself_table(loaded: Any, out: Any, count: int, seed: int, bars: int | None, retries: int,
                    sampling: dict[str, float]) -> dict[str, Any] | None:
    """Run, print and return the "by itself" table for a loaded model: its header plan is
    switched off for the run and restored after; None for a family without one."""
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.generation import generate_checked

    if not hasattr(loaded, "use_template"):
        out.print("by itself: this family has no header plan to switch off; skipped")
        return None

    def generate(conditions: dict[str, str], n: int, cell_seed: int) -> list[Any]:
        request = GenerateRequest(conditions, n, cell_seed, max_bars=bars, sampling=dict(sampling))
        return generate_checked(loaded, request, retry_invalid=retries)

    planned, loaded.use_template = loaded.use_template, False
    try:
        held = run_by_itself(generate, count, seed)
    finally:
        loaded.use_template = planned
    summary = by_itself_summary(held)
    show_by_itself(out, summary, count)
    return summary
