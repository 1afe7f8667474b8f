"""A music21 score as ABC sees it: voices (lanes) of bars, each bar with timed events.

A part becomes one lane per music21 voice it uses; each bar keeps the source measure's
length (the distance to the next measure, so short bars stay short), its meter, key and
tempo marks, repeat signs and ending number. Music without measures is cut into bars by its
meter, or, without a meter, kept as one bar-less line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from music21 import stream

_CLEFS = {"G2": "treble", "F4": "bass", "C3": "alto", "C4": "tenor"}


@dataclass
class Bar:
    """One measure of one ABC voice: timed events plus the measure's bar-line facts."""

    length: Fraction
    events: list[tuple[Fraction, object]]
    meter: str | None = None
    key: object | None = None
    tempo: str | None = None
    repeat_start: bool = False
    volta: str | None = None
    right: str = "|"
    free: bool = False  # music without measures: one bar-less line


@dataclass
class Lane:
    """One ABC voice: a part, or one of the music21 voices of a part."""

    part_index: int
    name: str
    clef: str | None
    bars: list[Bar] = field(default_factory=list)


def collect_lanes(score: stream.Score) -> list[Lane]:
    from music21 import stream

    parts = list(score.parts) or [score]
    lanes: list[Lane] = []
    for index, part in enumerate(parts):
        measures = list(part.getElementsByClass(stream.Measure))
        if not measures and part.recurse().getElementsByClass("TimeSignature").first() is not None:
            part = _barred(part)
            measures = list(part.getElementsByClass(stream.Measure))
        if not measures:
            lanes.append(_unmeasured_lane(index, part))
            continue
        groups = [_voice_groups(m) for m in measures]
        count = max((len(g) for g in groups), default=1) or 1
        name = _part_name(part)
        clef = _first_clef(part)
        part_lanes = [Lane(index, name if k == 0 else "", clef) for k in range(count)]
        for i, (measure, voices) in enumerate(zip(measures, groups)):
            length = _measure_length(part, measures, i)
            facts = _measure_facts(measure)
            for k, lane in enumerate(part_lanes):
                events = voices[k] if k < len(voices) else []
                lane.bars.append(Bar(length=length, events=events, **facts))
        lanes.extend(part_lanes)
    return lanes


def _barred(part: stream.Stream) -> stream.Stream:
    """A copy of unbarred music cut into measures by its time signature, notes that cross
    a bar line tied (music21 reads short ABC tunes and unbarred ABC without measures)."""
    barred = part.makeMeasures()
    barred.makeTies(inPlace=True)
    return barred


def _unmeasured_lane(index: int, part: stream.Stream) -> Lane:
    """Music without measures or meter stays one bar-less line."""
    from music21 import key

    flat = part.flatten()
    whole = Bar(
        length=exact(flat.highestTime),
        events=[(exact(e.offset), e) for e in flat.notesAndRests],
        key=flat.getElementsByClass(key.KeySignature).first(),
        right="",
        free=True,
    )
    return Lane(index, _part_name(part), _first_clef(part), [whole])


def _part_name(part: stream.Stream) -> str:
    return (getattr(part, "partName", None) or "").strip()


def _voice_groups(measure: stream.Measure) -> list[list[tuple[Fraction, object]]]:
    """The events of each voice of a measure (notes directly in the measure first)."""
    groups = []
    direct = [(exact(e.offset), e) for e in measure.notesAndRests]
    if direct:
        groups.append(direct)
    for voice in measure.voices:
        groups.append([(exact(voice.offset) + exact(e.offset), e) for e in voice.notesAndRests])
    return groups or [[]]


def _measure_length(part: stream.Part, measures: list, i: int) -> Fraction:
    """A measure lasts until the next one starts (the last: as long as its content)."""
    here = exact(measures[i].getOffsetBySite(part))
    if i + 1 < len(measures):
        return exact(measures[i + 1].getOffsetBySite(part)) - here
    return exact(measures[i].highestTime)


def _measure_facts(measure: stream.Measure) -> dict:
    from music21 import bar, key, spanner, tempo

    facts: dict = {}
    if measure.timeSignature is not None:
        facts["meter"] = measure.timeSignature.ratioString
    found = measure.getElementsByClass(key.KeySignature).first()
    if found is not None:
        facts["key"] = found
    mark = measure.recurse().getElementsByClass(tempo.MetronomeMark).first()
    if mark is not None and mark.number is not None:
        facts["tempo"] = _tempo_text(mark)
    if isinstance(measure.leftBarline, bar.Repeat) and measure.leftBarline.direction == "start":
        facts["repeat_start"] = True
    for bracket in measure.getSpannerSites([spanner.RepeatBracket]):
        if bracket.isFirst(measure) and bracket.number:
            facts["volta"] = str(bracket.number).replace(" ", "")
    facts["right"] = _right_barline(measure.rightBarline)
    return facts


def _right_barline(barline: object) -> str:
    from music21 import bar

    if isinstance(barline, bar.Repeat) and barline.direction == "end":
        return ":|"
    kind = getattr(barline, "type", "regular")
    return {"final": "|]", "light-heavy": "|]", "double": "||", "light-light": "||"}.get(kind, "|")


def _first_clef(part: stream.Part) -> str | None:
    from music21 import clef

    found = part.recurse().getElementsByClass(clef.Clef).first()
    if found is None or found.sign is None:
        return None
    return _CLEFS.get(f"{found.sign}{found.line}")


def _tempo_text(mark: object) -> str:
    """`1/4=121`: ABC 2.1 counts whole beats per minute, so a MIDI tempo of 121.29 is rounded."""
    beat = exact(mark.referent.quarterLength) / 4
    bpm = max(1, round(float(mark.number)))
    return f"{beat.numerator}/{beat.denominator}={bpm}"


def exact(value: float | Fraction) -> Fraction:
    """An exact quarter-note value: music21 keeps some times as floats (1/3 -> 0.333...)."""
    from music21 import common

    return Fraction(common.opFrac(value))
