"""Bars of a part: how often each is played, and which disagree with the meter.

`read_bars` turns music21 measures into plain `Bar` records; the two rules below work on those
records only, so they are tested without parsing any music.

Repeats are expanded for timing: a section closed by `:|` is played twice (or as often as
the repeat sign says), from the last `|:` or, without one, from the bar after the previous
`:|` (the beginning of the piece for the first). A bar inside a 1st/2nd-ending bracket is
played once per ending number it carries (`[1` once, `[1,2` twice). D.C., D.S. and coda
jumps are not followed.

A bar disagrees with the meter when its written length differs from the time signature's
bar length, except for these shortened bars at section boundaries (a section starts at the
first bar, after `||`, `|]` or `:|`, or with `|:`; it ends at those lines or at the last bar):
the first bar when short (the anacrusis); another short bar that opens a section, when a
short bar closing a section makes up the rest of a full bar with it; a short bar that closes
a section, when a pickup (a short opening bar) makes up the rest of a full bar with it.
Over-long bars always count. Bars without a meter (`M:none`) never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from music21.meter import TimeSignature
    from music21.note import GeneralNote
    from music21.stream import Stream

#: Lengths are quarter-note floats (tuplets make thirds); this absorbs the rounding.
EPSILON = 1e-6

_SECTION_LINES = {"double", "final", "light-light", "light-heavy", "heavy-light", "heavy-heavy", "heavy"}


@dataclass(frozen=True)
class Bar:
    """One written bar. `length` and `expected` are in quarter notes (`expected` is None
    without a meter); `notes` counts the note attacks in it (see `is_attack`); `repeat_end` is how often the section it closes is played (0: it closes
    none); `volta` is on how many passes a bar in a 1st/2nd ending is played (None: not in one)."""

    length: float
    expected: float | None
    notes: int = 0
    starts_repeat: bool = False
    repeat_end: int = 0
    volta: int | None = None
    section_line_before: bool = False
    section_line_after: bool = False


def play_counts(bars: list[Bar]) -> list[int]:
    """How many times each bar is played with repeats and endings expanded."""
    counts = [1] * len(bars)
    start = 0
    for index, bar in enumerate(bars):
        if bar.starts_repeat:
            start = index
        if bar.repeat_end:
            counts[start : index + 1] = [bar.repeat_end] * (index + 1 - start)
            start = index + 1
    return [bar.volta if bar.volta is not None else count for bar, count in zip(bars, counts)]


def off_meter_bars(bars: list[Bar]) -> list[int]:
    """Indices of bars whose length disagrees with the meter (module docstring: the rule)."""
    last = len(bars) - 1
    opens = [i == 0 or bar.section_line_before or bars[i - 1].section_line_after for i, bar in enumerate(bars)]
    closes = [bar.section_line_after or i == last or bars[i + 1].section_line_before for i, bar in enumerate(bars)]
    gaps = [bar.expected - bar.length if bar.expected is not None else 0.0 for bar in bars]
    short = [gap > EPSILON for gap in gaps]
    pickups = [bars[i].length for i in range(len(bars)) if short[i] and opens[i]]
    endings = [bars[i].length for i in range(len(bars)) if short[i] and closes[i]]
    off = []
    for i, gap in enumerate(gaps):
        if abs(gap) <= EPSILON:
            continue
        if short[i] and (
            (opens[i] and (i == 0 or _fits(gap, endings))) or (closes[i] and _fits(gap, pickups))
        ):
            continue
        off.append(i)
    return off


def _fits(gap: float, lengths: list[float]) -> bool:
    return any(abs(gap - length) <= EPSILON for length in lengths)


def sounds(element: GeneralNote) -> bool:
    """A music21 note or chord that makes a pitched sound: not a chord symbol (music21 reads
    ABC "Am" as a chord), not a grace note (an ornament outside the bar's time)."""
    from music21 import harmony

    return (
        not isinstance(element, harmony.Harmony)
        and not element.duration.isGrace
        and bool(element.pitches)
    )


def is_attack(element: GeneralNote) -> bool:
    """A sounding note or chord that is not the tied continuation of the one before."""
    tie = element.tie
    return sounds(element) and (tie is None or tie.type == "start")


def read_bars(part: Stream) -> list[Bar]:
    """The bars of a music21 part; a part without measures (a one-bar ABC tune) is one bar."""
    from music21 import bar, meter, spanner, stream

    measures = list(part.getElementsByClass(stream.Measure))
    signature = part.recurse().getElementsByClass(meter.TimeSignature).first()
    if not measures:
        notes = sum(1 for element in part.recurse().notes if is_attack(element))
        return [Bar(length=float(part.highestTime), expected=_bar_length(signature), notes=notes)]
    passes: dict[int, int] = {}  # id(measure) -> passes of its ending
    for bracket in part.spannerBundle.getByClass(spanner.RepeatBracket):
        for measure in bracket.getSpannedElements():
            passes[id(measure)] = len(bracket.numberRange) or 1
    bars: list[Bar] = []
    for measure in measures:
        signature = measure.timeSignature or signature
        left, right = measure.leftBarline, measure.rightBarline
        ends_repeat = isinstance(right, bar.Repeat) and right.direction == "end"
        times = right.times if isinstance(right, bar.Repeat) and right.times else 2
        bars.append(
            Bar(
                length=float(measure.duration.quarterLength),
                expected=_bar_length(signature),
                notes=sum(1 for element in measure.recurse().notes if is_attack(element)),
                starts_repeat=isinstance(left, bar.Repeat) and left.direction == "start",
                repeat_end=times if ends_repeat else 0,
                volta=passes.get(id(measure)),
                section_line_before=left is not None and (isinstance(left, bar.Repeat) or left.type in _SECTION_LINES),
                section_line_after=right is not None and (ends_repeat or right.type in _SECTION_LINES),
            )
        )
    return bars


def _bar_length(signature: TimeSignature | None) -> float | None:
    return float(signature.barDuration.quarterLength) if signature is not None else None
