"""Writing ABC notation from music21 scores (music21 itself can only read ABC).

Two layouts: "classic" writes each voice's music after its own `V:` line; "interleaved"
writes one line per bar, `[V:1]bar|[V:2]bar|...`, with the `V:` declarations in the header,
as NotaGen's training data does. A part whose measures hold several music21 voices becomes
several ABC voices, grouped on one staff by a `%%score (1 2) ...` line.

Fidelity rules (measured by benchmarks/convert_fidelity.py):
- every onset and duration is exact: gaps inside a voice become rests, bars are filled to the
  length of the source measure (`abc_bars`), a bar longer than its meter gets a meter that
  fits it, tuplets use `(3`/`(p:q:r`, anything else an exact fractional length;
- accidentals are written whenever *any* common reading could get the note wrong
  (`abc_spelling`);
- key, meter and tempo changes are written as field lines (classic) or inline fields at the
  start of a voice's bar (interleaved);
- grace notes are kept as `{...}` groups, chord symbols as `"..."` annotations; lyrics,
  dynamics, articulations, slurs and clef changes are not written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from musegen_cli.notation.abc_bars import Bar, Lane, collect_lanes, exact
from musegen_cli.notation.abc_spelling import Spelling, key_field

if TYPE_CHECKING:
    from music21 import stream

Layout = Literal["classic", "interleaved"]
LAYOUTS: tuple[Layout, ...] = ("classic", "interleaved")


def score_to_abc(
    score: stream.Score,
    layout: Layout = "classic",
    *,
    reference_number: int = 1,
    unit: Fraction = Fraction(1, 8),
    bars_per_line: int = 4,
) -> str:
    """Return one ABC tune for `score` in the given layout."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown ABC layout {layout!r}")
    lanes = collect_lanes(score)
    writer = _TuneWriter(unit=Fraction(unit) * 4)
    header = _header(score, lanes, reference_number, unit, layout)
    body = writer.interleaved(lanes) if layout == "interleaved" else writer.classic(lanes, bars_per_line)
    return "\n".join([*header, *body]) + "\n"


# --------------------------------------------------------------------------- header


def _header(score: stream.Score, lanes: list[Lane], number: int, unit: Fraction, layout: Layout) -> list[str]:
    lines = ["%abc-2.1", f"X:{number}"]
    meta = score.metadata
    title = (meta.title or meta.movementName) if meta is not None else None
    if title:  # never invented: abc2midi, abc2abc and abcm2ps read a tune without T: as well
        lines.append(f"T:{_clean(title)}")
    if meta is not None and meta.composer:
        lines.append(f"C:{_clean(meta.composer)}")
    first = _header_bar(lanes)
    lines.append(f"M:{first.meter if first and first.meter else 'none'}")
    lines.append(f"L:{unit.numerator}/{unit.denominator}")
    if first and first.tempo:
        lines.append(f"Q:{first.tempo}")
    if len(lanes) > 1:
        lines.append("%%score " + _score_groups(lanes))
    if layout == "interleaved":
        lines.extend(_voice_line(i, lane) for i, lane in enumerate(lanes, 1))
    lines.append(f"K:{key_field(first.key if first else None)[0]}")
    return lines


def _header_bar(lanes: list[Lane]) -> Bar | None:
    """The first bar of the first voice: its key, meter and tempo go in the header."""
    return lanes[0].bars[0] if lanes and lanes[0].bars else None


def _score_groups(lanes: list[Lane]) -> str:
    """`(1 2) 3`: voices of the same part share a staff."""
    groups: dict[int, list[str]] = {}
    for number, lane in enumerate(lanes, 1):
        groups.setdefault(lane.part_index, []).append(str(number))
    return " ".join(ids[0] if len(ids) == 1 else f"({' '.join(ids)})" for ids in groups.values())


def _voice_line(number: int, lane: Lane) -> str:
    props = [f"V:{number}"]
    if lane.clef:
        props.append(f"clef={lane.clef}")
    if lane.name:
        props.append(f'name="{_clean(lane.name)}"')
    return " ".join(props)


def _clean(text: str) -> str:
    """Text safe for one ABC header line or annotation."""
    return " ".join(str(text).split()).replace('"', "'")


# --------------------------------------------------------------------------- body


class _TuneWriter:
    """Turns lanes into body lines; keeps the running key and meter of each lane."""

    def __init__(self, unit: Fraction) -> None:
        self.unit = unit  # quarter notes per ABC unit length

    def classic(self, lanes: list[Lane], bars_per_line: int) -> list[str]:
        lines: list[str] = []
        header = _header_bar(lanes)
        many = len(lanes) > 1
        for number, lane in enumerate(lanes, 1):
            if many:
                lines.append(_voice_line(number, lane))
            line: list[str] = []
            state = _LaneState(header)
            for bar in lane.bars:
                fields = state.changes(bar)
                if fields or len(line) >= bars_per_line:
                    if line:
                        lines.append("".join(line))
                    line = []
                    lines.extend(f"{name}:{value}" for name, value in fields)
                line.append(self._bar(bar, state))
            if line:
                lines.append("".join(line))
        return lines

    def interleaved(self, lanes: list[Lane]) -> list[str]:
        states = [_LaneState(_header_bar(lanes)) for _ in lanes]
        count = max(len(lane.bars) for lane in lanes)
        lines = []
        for i in range(count):
            segments = []
            for number, (lane, state) in enumerate(zip(lanes, states), 1):
                if i < len(lane.bars):
                    bar = lane.bars[i]
                else:  # a voice that ended early rests through the others' bars
                    bar = Bar(next(other.bars[i] for other in lanes if i < len(other.bars)).length, [])
                fields = "".join(f"[{n}:{v}]" for n, v in state.changes(bar))
                segments.append(f"[V:{number}]{fields}{self._bar(bar, state)}")
            lines.append("".join(segments))
        return lines

    def _bar(self, bar: Bar, state: _LaneState) -> str:
        prefix = "|:" if bar.repeat_start else ""
        if bar.volta:
            prefix += f"[{bar.volta} "
        beat = _beat(state.meter)
        text, previous = "", None
        events = _timed_events(bar)
        for token, event in self._tokens(events, state.new_bar()):
            beamed = previous is not None and _beamable(previous, beat) and _beamable(event, beat)
            if previous is not None and not (beamed and previous.offset // beat == event.offset // beat):
                text += " "
            text += token
            previous = event
        last = next((e for e in reversed(events) if e.pitches), None)
        if last is not None:
            state.tied = {(p.step, p.octave): int(round(p.alter)) for p, tie in zip(last.pitches, last.ties) if tie}
        return prefix + text + bar.right

    def _tokens(self, events: list[_Event], spelling: Spelling) -> Iterator[tuple[str, _Event]]:
        """ABC text of each note, chord, rest or tuplet group of a bar, with its (first) event."""
        i = 0
        while i < len(events):
            group = _tuplet_group(events, i)
            if group:
                actual, normal, count = group
                # grace notes go before the tuplet sign: music21 would count them in the tuplet
                text = _decorations(events[i], spelling) + _tuplet_prefix(actual, normal, count)
                for position, event in enumerate(events[i : i + count]):
                    if position:
                        text += _decorations(event, spelling)
                    text += self._event(event, spelling, _notated_scale(event, Fraction(actual, normal)))
                yield text, events[i]
                i += count
            else:
                yield _decorations(events[i], spelling) + self._event(events[i], spelling, Fraction(1)), events[i]
                i += 1

    def _event(self, event: _Event, spelling: Spelling, scale: Fraction) -> str:
        """A note, chord or rest with its length (scaled inside tuplets) and ties."""
        length = self._length(event.duration * scale)
        if not event.pitches:
            return "z" + length
        ties = event.ties
        if len(event.pitches) == 1:
            return spelling.pitches(event.pitches, [False]) + length + ("-" if ties[0] else "")
        if all(ties):
            return "[" + spelling.pitches(event.pitches, [False] * len(ties)) + "]" + length + "-"
        return "[" + spelling.pitches(event.pitches, ties) + "]" + length

    def _length(self, quarters: Fraction) -> str:
        ratio = quarters / self.unit
        if ratio == 1:
            return ""
        if ratio.denominator == 1:
            return str(ratio.numerator)
        if ratio.numerator == 1:
            return "/" if ratio.denominator == 2 else f"/{ratio.denominator}"
        return f"{ratio.numerator}/{ratio.denominator}"


@dataclass
class _Event:
    """A note, chord or rest at a time in a bar, with grace notes and chord symbols before it."""

    offset: Fraction
    duration: Fraction
    element: object | None
    pitches: tuple = ()
    ties: tuple[bool, ...] = ()
    graces: list = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)


def _decorations(event: _Event, spelling: Spelling) -> str:
    """Chord symbols and grace notes written before an event."""
    text = "".join(f'"{_clean(symbol)}"' for symbol in event.symbols)
    if event.graces:
        text += "{" + "".join(spelling.pitches(g.pitches, [False] * len(g.pitches)) for g in event.graces) + "}"
    return text


def _timed_events(bar: Bar) -> list[_Event]:
    """Events of a bar in time order, with rests filling every gap and the end of the bar."""
    from music21 import harmony

    out: list[_Event] = []
    cursor = Fraction(0)
    graces: list = []
    symbols: list[str] = []
    for offset, element in sorted(bar.events, key=lambda pair: pair[0]):
        if isinstance(element, harmony.Harmony):
            if element.figure:
                symbols.append(element.figure)
            continue
        if element.duration.isGrace:
            if getattr(element, "pitches", ()):
                graces.append(element)
            continue
        duration = exact(element.quarterLength)
        if duration <= 0:
            continue
        if offset < cursor:
            _merge_overlap(out, offset, duration, element)
            continue
        if offset > cursor:
            out.append(_Event(cursor, offset - cursor, None))
        out.append(_make_event(offset, duration, element, graces, symbols))
        graces, symbols = [], []
        cursor = offset + duration
    if cursor < bar.length:
        out.append(_Event(cursor, bar.length - cursor, None, symbols=symbols))
    return out


def _make_event(offset: Fraction, duration: Fraction, element: object, graces: list, symbols: list[str]) -> _Event:
    pitches = tuple(getattr(element, "pitches", ()))
    if element.isRest or not pitches:
        return _Event(offset, duration, element, graces=graces, symbols=symbols)
    notes = list(element.notes) if element.isChord else [element]
    ties = tuple(n.tie is not None and n.tie.type in ("start", "continue") for n in notes)
    return _Event(offset, duration, element, tuple(n.pitch for n in notes), ties, graces, symbols)


def _merge_overlap(out: list[_Event], offset: Fraction, duration: Fraction, element: object) -> None:
    """A second note at the same time and length in one voice joins the previous chord;
    other overlaps cannot be written in one ABC voice and are dropped."""
    previous = out[-1] if out else None
    pitches = tuple(getattr(element, "pitches", ()))
    if previous and previous.pitches and pitches and previous.offset == offset and previous.duration == duration:
        notes = list(element.notes) if element.isChord else [element]
        ties = tuple(n.tie is not None and n.tie.type in ("start", "continue") for n in notes)
        previous.pitches += tuple(n.pitch for n in notes)
        previous.ties += ties


def _tuplet_prefix(actual: int, normal: int, count: int) -> str:
    """`(3` where ABC's defaults say the same (3 in the time of 2 over 3 notes), else `(p:q:r`."""
    if (actual, normal) in {(2, 3), (3, 2), (4, 3), (6, 2)} and count == actual:
        return f"({actual}"
    return f"({actual}:{normal}:{count}"


def _beat(meter: str | None) -> Fraction:
    """Beam-group length in quarter notes: a dotted quarter in compound meters."""
    try:
        numerator, denominator = (int(x) for x in (meter or "4/4").split("/"))
    except ValueError:
        return Fraction(1)
    if denominator == 8 and numerator % 3 == 0 and numerator > 3:
        return Fraction(3, 2)
    return Fraction(4, denominator) if denominator <= 4 else Fraction(1)


def _beamable(event: _Event, beat: Fraction) -> bool:
    """Notes shorter than a quarter are written joined (beamed) within a beat."""
    return bool(event.pitches) and event.duration < min(beat, Fraction(1))


def _tuplet_group(events: list[_Event], start: int) -> tuple[int, int, int] | None:
    """(actual, normal, count) when events[start:] open a complete, simple tuplet.

    The ratio is reduced (12:8 becomes 3:2, written as four groups) because music21 reads
    only one-digit tuplet numbers; anything else is written with exact fractional lengths.
    """
    first = events[start].element
    tuplets = first.duration.tuplets if first is not None else ()
    if len(tuplets) != 1:
        return None
    source = (tuplets[0].numberNotesActual, tuplets[0].numberNotesNormal)
    common = math.gcd(*source)
    ratio = (source[0] // common, source[1] // common)
    span = exact(tuplets[0].totalTupletLength()) / common
    total = Fraction(0)
    for count, event in enumerate(events[start : start + 9], 1):
        element = event.element
        if element is None or len(element.duration.tuplets) != 1 or (count > 1 and event.graces):
            return None
        t = element.duration.tuplets[0]
        if (t.numberNotesActual, t.numberNotesNormal) != source:
            return None
        total += event.duration
        if total == span:
            return (*ratio, count) if max(ratio) < 10 else None
        if total > span:
            return None
    return None


def _notated_scale(event: _Event, ratio: Fraction) -> Fraction:
    """Scale from sounding to written length inside a tuplet. Some MusicXML files store
    tuplet notes with rounded durations (85/256 for 1/3); music21 cannot read those back
    as tuplet notes, so their written length comes from the note's type and dots instead."""
    from music21 import duration

    written = event.duration * ratio
    if duration.Duration(written).type not in ("complex", "inexpressible"):
        return ratio
    typed = event.element.duration
    return exact(duration.Duration(type=typed.type, dots=typed.dots).quarterLength) / event.duration


class _LaneState:
    """The key, meter and tempo in force in one ABC voice, to write only real changes."""

    def __init__(self, header: Bar | None) -> None:
        self.key_name, self.alters = key_field(header.key if header else None)
        self.meter = header.meter if header else None  # the source's meter
        self.written_meter = self.meter  # what the ABC says, see _bar_meter
        self.tempo = header.tempo if header else None
        #: Pitches the last bar tied over its bar line, for the next bar's spelling.
        self.tied: dict[tuple[str, int], int] = {}

    def changes(self, bar: Bar) -> list[tuple[str, str]]:
        fields = []
        self.meter = bar.meter or self.meter
        meter = _bar_meter(bar, self.meter)
        if meter and meter != self.written_meter:
            fields.append(("M", meter))
            self.written_meter = meter
        if bar.key is not None:
            name, alters = key_field(bar.key)
            if name != self.key_name:
                fields.append(("K", name))
            self.key_name, self.alters = name, alters
        if bar.tempo and bar.tempo != self.tempo:
            fields.append(("Q", bar.tempo))
            self.tempo = bar.tempo
        return fields

    def new_bar(self) -> Spelling:
        return Spelling(self.alters, self.tied)


def _bar_meter(bar: Bar, meter: str | None) -> str | None:
    """The meter to write for a bar: the source's, unless the bar holds more than that
    meter allows (music21 would cut such a bar in two), then one that fits it exactly."""
    if bar.free or not meter or "/" not in meter:
        return meter
    numerator, denominator = meter.split("/", 1)
    try:
        capacity = Fraction(sum(int(n) for n in numerator.split("+")) * 4, int(denominator))
    except ValueError:
        return meter
    if bar.length <= capacity:
        return meter
    for denominator in (4, 8, 16, 32):
        count = bar.length * denominator / 4
        if count.denominator == 1:
            return f"{count.numerator}/{denominator}"
    return meter
