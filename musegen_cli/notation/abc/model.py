"""What an ABC tune says, as plain data: voices of bars of timed events.

The reader (`body.py`) resolves everything that depends on reading order — the key and the
accidentals carried through a bar, the unit length, broken rhythm and tuplets — so an event
holds its sounding pitch and its exact length (a Fraction of a whole note). What depends on
playing order (repeats, endings, `P:` parts, ties) is resolved by `playback.py`; the written
form (`to_music21.py`) keeps the bar lines as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction


@dataclass(frozen=True)
class Pitch:
    """A written pitch: letter, octave number (C4 is middle C, ABC `C`), alteration in semitones."""

    letter: str
    octave: int
    alter: int

    @property
    def midi(self) -> int:
        return 12 * (self.octave + 1) + _SEMITONES[self.letter] + self.alter


_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass
class Note:
    """A note or chord (several pitches) sounding for `length`; `tie_out[i]` ties pitch i
    into the next event. Grace notes take their time from the note after them."""

    pitches: list[Pitch]
    length: Fraction
    lengths: list[Fraction]
    tie_out: list[bool]
    grace: bool = False
    #: Written accidental of each pitch (None when implied by the key or the bar).
    accidentals: list[int | None] = field(default_factory=list)
    decorations: list[str] = field(default_factory=list)
    tuplet: tuple[int, int] | None = None


@dataclass
class Rest:
    length: Fraction
    invisible: bool = False
    tuplet: tuple[int, int] | None = None


@dataclass
class ChordSymbol:
    """A chord name over the music (`"Am7"`), played only on request."""

    name: str


@dataclass
class Annotation:
    """Text over or under the staff (`"^Allegro"`); never played."""

    text: str
    place: str


@dataclass
class MeterChange:
    text: str
    value: Fraction | None


@dataclass
class KeyChange:
    text: str
    signature: dict[str, int]
    tonic: str | None = None
    mode: str | None = None


@dataclass
class TempoChange:
    quarter_notes_per_minute: float


Event = Note | Rest | ChordSymbol | Annotation | MeterChange | KeyChange | TempoChange


@dataclass
class Bar:
    """The events between two bar lines, with the repeat marks around them.

    `ending_start` holds the numbers of an ending (`[1,3`) that begins with this bar;
    `repeat_end` marks a closing repeat after it; `final` a double (`||`) or thin-thick
    (`|]`) bar line after it; `part` the `P:` label of a part that begins here;
    `double_repeat` that one bar line (`::`, `:|:`) both closes the repeat before this bar and
    opens one here, which abc2midi plays unlike `:|` followed by `|:` (`repeats.py`).
    """

    events: list[Event] = field(default_factory=list)
    repeat_start: bool = False
    repeat_end: bool = False
    ending_start: frozenset[int] = frozenset()
    final: str = ""
    part: str | None = None
    double_repeat: bool = False

    @property
    def length(self) -> Fraction:
        return sum((e.length for e in self.events if isinstance(e, (Note, Rest)) and not _is_grace(e)), Fraction(0))

    @property
    def has_music(self) -> bool:
        return any(isinstance(e, (Note, Rest)) for e in self.events)


def _is_grace(event: Event) -> bool:
    return isinstance(event, Note) and event.grace


@dataclass
class Voice:
    """One voice (`V:`), in the order the header or body first names it."""

    id: str
    name: str | None = None
    bars: list[Bar] = field(default_factory=list)
    program: int | None = None
    transpose: int = 0
    channel: int | None = None


@dataclass
class Tune:
    """One tune: its header fields and its voices."""

    number: int | None
    title: str | None
    composer: str | None
    meter: MeterChange | None
    unit_length: Fraction
    key: KeyChange
    tempo: float | None
    voices: list[Voice]
    #: The `P:` play order from the header, expanded (`P:A2B` gives ["A", "A", "B"]).
    play_order: list[str] = field(default_factory=list)
    #: Voice ids that share one staff (`%%score (1 2)`), for the written form.
    staff_groups: list[list[str]] = field(default_factory=list)
    #: What the reader skipped, each "line L, column C: what" (for the strict piece check).
    warnings: list[str] = field(default_factory=list)
