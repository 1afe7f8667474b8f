"""What "the same music" means when a conversion round trip is measured or tested.

Two scores are the same when, part by part, they hold the same sounding events. An event
is (onset, duration, MIDI pitches) where
- onset is the position in quarter notes from the start of the part, as an exact Fraction;
  it captures rests and pickups without comparing rests themselves,
- duration is the quarterLength as an exact Fraction; a single note tied to the next one of
  the same pitch (which starts when it ends) is one event lasting the whole tie chain, so a
  note split at a bar line (MusicXML must split what crosses bars) equals the unsplit note,
  and a lost tie shows;
  chords are compared chord by chord, because music21's ABC reader drops ties on chords,
- pitches are the sorted MIDI numbers of a note or chord (enharmonics compare equal).
Grace notes and chord symbols are left out; so are dynamics, articulations, lyrics, clefs
and spelling. Events at one onset are sorted, so voice assignment inside a part is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from music21 import stream

Event = tuple[Fraction, Fraction, tuple[int, ...]]


def part_events(part: stream.Stream) -> list[Event]:
    """The comparable events of one part, in time order, tie chains of single notes joined."""
    from music21 import harmony

    timed = []
    for element in part.recurse().notes:
        if isinstance(element, harmony.Harmony) or element.duration.isGrace:
            continue
        onset = _exact(element.getOffsetInHierarchy(part))
        timed.append((onset, _exact(element.quarterLength), element))
    timed.sort(key=lambda item: item[0])
    events: list[list] = []
    open_ties: dict[int, list] = {}  # MIDI pitch -> event whose tie chain goes on
    for onset, duration, element in timed:
        pitches = tuple(sorted(p.midi for p in element.pitches))
        tie = None if element.isChord or element.tie is None else element.tie.type
        chain = None if element.isChord else open_ties.pop(pitches[0], None)
        if chain is not None and chain[0] + chain[1] == onset:
            chain[1] += duration
            event = chain
        else:
            event = [onset, duration, pitches]
            events.append(event)
        if tie in ("start", "continue"):
            open_ties[pitches[0]] = event
    return sorted((onset, duration, pitches) for onset, duration, pitches in events)


def _exact(value: float | Fraction) -> Fraction:
    return Fraction(value).limit_denominator(10**6)


def score_events(score: stream.Score) -> list[list[Event]]:
    """Events of every part that has notes (a score without parts counts as one part)."""
    parts = list(score.parts) or [score]
    return [events for events in map(part_events, parts) if events]


@dataclass(frozen=True)
class Comparison:
    """Whether two scores hold the same music, and if not, the first difference."""

    same: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.same


def compare_scores(expected: stream.Score, actual: stream.Score) -> Comparison:
    """Compare two scores event by event, part by part (see the module docstring)."""
    want, got = score_events(expected), score_events(actual)
    if len(want) != len(got):
        return Comparison(False, f"{len(want)} parts with notes, got {len(got)}")
    for index, (a, b) in enumerate(zip(want, got), 1):
        for position, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return Comparison(False, f"part {index}, event {position}: expected {_show(x)}, got {_show(y)}")
        if len(a) != len(b):
            return Comparison(False, f"part {index}: {len(a)} events, got {len(b)}")
    return Comparison(True)


def _show(event: Event) -> str:
    onset, duration, pitches = event
    return f"pitches {list(pitches)} at {onset} for {duration}"
