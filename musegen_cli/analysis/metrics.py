"""Music metrics of generated and real pieces, as symbolic-music papers report them.

Pure functions over plain values (no music21), so each is tested on hand-made input:

- `pitch_class_entropy`: Shannon entropy in bits of the pitch-class histogram (every pitch of
  every note attack counted once): 0 for one pitch class, log2(12) = 3.585 for all twelve
  equally; tonal melodies sit around 2.5-3.
- `scale_consistency`: the largest share of those pitches that fits one diatonic scale (the
  twelve major scales; a natural minor scale is the major scale of its relative key, so it is
  covered): 1.0 for a diatonic tune, lower with chromatic notes.
- `repetition`: the share of bars with notes whose content (each attack's onset within the
  bar, pitches and length) equals that of an earlier bar of the same part: 0 for through-
  composed music, high for music that repeats itself literally (written-out repeats count;
  `:|` signs do not, the bar is written once).
- `bar_consistency`: the share of bars whose length agrees with the meter (1 -
  bars_off_meter / bars), pickups excused as in `bars`.
- `step_share`, `leap_share`: of the melodic intervals between successive attacks of a
  melody, the share of steps (1 or 2 semitones) and of leaps (3 or more); repeated notes are
  neither, so the two need not add up to 1.
- `duration_entropy`: Shannon entropy in bits of the histogram of note lengths (quarter
  notes, as written): 0 for one length throughout, higher for varied rhythm.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from itertools import pairwise

_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_DIATONIC_SETS = [frozenset((tonic + step) % 12 for step in _MAJOR_SCALE) for tonic in range(12)]


def _entropy(counts: Counter) -> float:
    """Shannon entropy in bits of a histogram."""
    total = sum(counts.values())
    return max(0.0, -sum(n / total * math.log2(n / total) for n in counts.values()))


def pitch_class_entropy(pitches: Sequence[int]) -> float | None:
    """Entropy (bits) of the pitch-class histogram of MIDI ``pitches``; None without any."""
    if not pitches:
        return None
    return _entropy(Counter(p % 12 for p in pitches))


def scale_consistency(pitches: Sequence[int]) -> float | None:
    """Largest share of ``pitches`` inside one diatonic scale; None without any."""
    if not pitches:
        return None
    counts = Counter(p % 12 for p in pitches)
    return max(sum(n for pc, n in counts.items() if pc in scale) for scale in _DIATONIC_SETS) / len(pitches)


def repetition(parts: Iterable[Sequence[Hashable]]) -> float | None:
    """Share of bars (over all parts; each bar's content a hashable, None for a bar without
    notes) that repeat an earlier bar of their part; None when no bar has notes."""
    repeated = counted = 0
    for bars in parts:
        seen: set[Hashable] = set()
        for content in bars:
            if content is None:
                continue
            counted += 1
            repeated += content in seen
            seen.add(content)
    return repeated / counted if counted else None


def bar_consistency(bars: int | None, bars_off_meter: int | None) -> float | None:
    """Share of bars that agree with the meter; None without bars."""
    if not bars or bars_off_meter is None:
        return None
    return 1.0 - bars_off_meter / bars


def _intervals(melodies: Iterable[Sequence[int]]) -> list[int]:
    return [abs(b - a) for melody in melodies for a, b in pairwise(melody)]


def step_share(melodies: Iterable[Sequence[int]]) -> float | None:
    """Share of the intervals within each of ``melodies`` (MIDI pitches in time order) that
    are steps; None without an interval."""
    intervals = _intervals(melodies)
    return sum(1 for i in intervals if 1 <= i <= 2) / len(intervals) if intervals else None


def leap_share(melodies: Iterable[Sequence[int]]) -> float | None:
    """Share of the intervals within each of ``melodies`` that are leaps (3 semitones or
    more); None without an interval."""
    intervals = _intervals(melodies)
    return sum(1 for i in intervals if i >= 3) / len(intervals) if intervals else None


def duration_entropy(lengths: Sequence[float]) -> float | None:
    """Entropy (bits) of the histogram of note ``lengths`` (quarter notes); None without any."""
    return _entropy(Counter(round(length, 4) for length in lengths)) if lengths else None
