"""A tune's written form as a music21 Score: one part per voice, one measure per bar.

Repeats stay written (repeat bar lines and `RepeatBracket` endings), so MusicXML shows the
tune as its ABC does; what it plays comes from `playback.py`. A first bar shorter than the
meter is a pickup (measure 0, padded on the left). Voices that `%%score (1 2)` puts on one
staff become music21 voices of one part, as musegen's ABC writer and NotaGen's data write
piano music. Only the metadata the tune gives is set: no invented title or composer.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import TYPE_CHECKING

from musegen_cli.notation.abc.model import (
    Annotation,
    Bar,
    ChordSymbol,
    KeyChange,
    MeterChange,
    Note,
    Pitch,
    Rest,
    TempoChange,
    Tune,
)

if TYPE_CHECKING:
    from music21 import stream


def tune_to_score(tune: Tune) -> stream.Score:
    """Build the Score of `tune` (see the module docstring)."""
    from music21 import metadata, stream

    score = stream.Score()
    score.metadata = metadata.Metadata()
    if tune.number is not None:
        score.metadata.number = str(tune.number)
    if tune.title:
        score.metadata.title = tune.title
    if tune.composer:
        score.metadata.composer = tune.composer
    for voice in tune.voices:
        part = _part(tune, voice.bars)
        part.id = voice.id
        if voice.name:
            part.partName = voice.name
        score.insert(0, part)
    for group in tune.staff_groups:
        members = [p for voice_id in group for p in score.parts if p.id == voice_id]
        if len(members) > 1:
            _merge_into_voices(score, members)
    return score


def _part(tune: Tune, bars: list[Bar]) -> stream.Part:
    from music21 import bar as barline
    from music21 import key, meter, spanner, stream, tempo

    part = stream.Part()
    meter_value = tune.meter.value if tune.meter else None
    ties: set[int] = set()
    endings: list[tuple[frozenset[int], list[stream.Measure]]] = []
    open_ending = False
    for number, bar in enumerate(bars, 1):
        measure = stream.Measure(number=number)
        if number == 1:
            if tune.meter is not None and meter_value is not None:
                measure.insert(0, _time_signature(meter, tune.meter.text))
            if tune.key.signature or tune.key.tonic:
                measure.insert(0, _key(key, tune.key))
            if tune.tempo:
                measure.insert(0, tempo.MetronomeMark(number=round(tune.tempo, 2), referent=1.0))
        offset = Fraction(0)
        for event in bar.events:
            if isinstance(event, Note):
                element = _note(event, ties)
                if event.grace:
                    measure.insert(offset, element)
                    continue
                measure.insert(offset, element)
                offset += event.length * 4
            elif isinstance(event, Rest):
                element = _rest(event)
                measure.insert(offset, element)
                offset += event.length * 4
            elif isinstance(event, MeterChange) and event.value is not None:
                if offset == 0 and number == 1:
                    continue
                measure.insert(offset, _time_signature(meter, event.text))
                meter_value = event.value
            elif isinstance(event, KeyChange):
                measure.insert(offset, _key(key, event))
            elif isinstance(event, TempoChange):
                mark = tempo.MetronomeMark(number=round(event.quarter_notes_per_minute, 2), referent=1.0)
                measure.insert(offset, mark)
            elif isinstance(event, (ChordSymbol, Annotation)):
                measure.insert(offset, _text(event))
        if number == 1 and meter_value is not None and 0 < offset < meter_value * 4:
            measure.number = 0
            measure.paddingLeft = float(meter_value * 4 - offset)
        if bar.repeat_start:
            measure.leftBarline = barline.Repeat(direction="start")
        if bar.repeat_end:
            measure.rightBarline = barline.Repeat(direction="end")
        elif bar.final:
            measure.rightBarline = barline.Barline("final" if bar.final == "|]" else "double")
        if bar.ending_start:
            endings.append((bar.ending_start, [measure]))
            open_ending = True
        elif open_ending and not bar.repeat_start:
            endings[-1][1].append(measure)
        if bar.repeat_end or bar.final:
            open_ending = False
        if meter_value is not None and offset > meter_value * 4:
            part.append(_cut_into_bars(measure, meter_value))
        else:
            part.append(measure)
    for numbers, measures in endings:
        part.insert(0, spanner.RepeatBracket(measures, number=",".join(str(n) for n in sorted(numbers))))
    return part


def _cut_into_bars(measure: stream.Measure, meter_value: Fraction) -> list[stream.Measure]:
    """A bar longer than its meter (a tune written without bar lines is one long bar) is cut
    at the meter, tying notes across the new bar lines: MusicXML cannot hold an overfull
    measure, and music21 writes one wrongly."""
    from music21 import meter, stream

    flat = stream.Stream()
    for element in measure.elements:
        flat.insert(element.offset, element)
    if not flat.getElementsByClass(meter.TimeSignature):
        flat.insert(0, meter.TimeSignature(f"{meter_value.numerator}/{meter_value.denominator}"))
    measures = flat.makeMeasures()
    measures.makeTies(inPlace=True)
    cut = list(measures.getElementsByClass(stream.Measure))
    cut[0].leftBarline = measure.leftBarline
    cut[-1].rightBarline = measure.rightBarline
    return cut


def _note(event: Note, ties: set[int]):
    from music21 import chord, note, tie

    written = event.accidentals or [None] * len(event.pitches)
    pitches = [_pitch(p, accidental) for p, accidental in zip(event.pitches, written)]
    if len(pitches) == 1:
        element = note.Note(pitches[0])
    else:
        element = chord.Chord(pitches)
    if event.grace:
        element.duration.quarterLength = event.length * 4
        return element.getGrace()
    element.duration.quarterLength = event.length * 4
    midis = [p.midi for p in event.pitches]
    incoming = any(m in ties for m in midis)
    outgoing = any(event.tie_out)
    if incoming or outgoing:
        element.tie = tie.Tie("continue" if incoming and outgoing else "stop" if incoming else "start")
    ties.clear()
    ties.update(m for m, tied in zip(midis, event.tie_out) if tied)
    if "staccato" in event.decorations or "." in event.decorations:
        from music21 import articulations

        element.articulations.append(articulations.Staccato())
    if any(d in ("fermata", "H") for d in event.decorations):
        from music21 import expressions

        element.expressions.append(expressions.Fermata())
    return element


def _pitch(value: Pitch, written: int | None):
    from music21 import pitch

    result = pitch.Pitch(value.letter, octave=value.octave)
    if value.alter or written is not None:
        result.accidental = pitch.Accidental(value.alter)
        if written is not None:
            result.accidental.displayStatus = True
    return result


def _rest(event: Rest):
    from music21 import note

    rest = note.Rest(quarterLength=event.length * 4)
    if event.invisible:
        rest.style.hideObjectOnPrint = True
    return rest


def _text(event: ChordSymbol | Annotation):
    from music21 import expressions, harmony

    if isinstance(event, ChordSymbol):
        try:
            return harmony.ChordSymbol(event.name)
        except Exception:  # music21 parses chord names strictly; keep the name as text
            return expressions.TextExpression(event.name)
    text = expressions.TextExpression(event.text)
    if event.place == "_":
        text.placement = "below"
    return text


def _time_signature(meter, text: str):
    value = {"C": "4/4", "C|": "2/2"}.get(text.strip(), text.strip())
    try:
        return meter.TimeSignature(value.replace(" ", ""))
    except Exception:  # a meter music21 cannot write (`2+3/8` it can; `(2+3)/8` not)
        from musegen_cli.notation.abc.fields import meter_value

        total = meter_value(text)
        return meter.TimeSignature(f"{total.numerator}/{total.denominator}")


def _key(key_module, change: KeyChange):
    """A music21 Key (tonic and mode) when the signature is the mode's own, else a bare
    KeySignature (`K:D ^g`, `K:none`)."""
    if change.tonic and change.mode:
        found = key_module.Key(change.tonic.replace("b", "-"), change.mode)
        if found.sharps == _sharps(change.signature) and len(change.signature) == abs(found.sharps):
            return found
    return key_module.KeySignature(_sharps(change.signature))


def _sharps(signature: dict[str, int]) -> int:
    """Sharps (positive) or flats (negative) of a signature, as music21 counts them."""
    return sum(signature.values())


def _merge_into_voices(score: stream.Score, parts: list[stream.Part]) -> None:
    """Make the first part hold every part's measures as music21 voices; drop the others."""
    from music21 import stream

    columns = [list(p.getElementsByClass(stream.Measure)) for p in parts]
    for i, measure in enumerate(columns[0]):
        for number, column in enumerate(columns, 1):
            voice = stream.Voice(id=str(number))
            if i < len(column):
                for element in column[i].notesAndRests:
                    voice.insert(element.offset, copy.deepcopy(element))
            if number == 1:
                for element in list(measure.notesAndRests):
                    measure.remove(element)
            measure.insert(0, voice)
    for part in parts[1:]:
        score.remove(part)
