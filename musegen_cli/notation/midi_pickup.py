"""Finding the pickup (anacrusis) of a MIDI file and barring the music from it.

MIDI has no bar lines, and music21 bars what it reads from time 0, so a tune that opens
with a pickup comes back with every bar line shifted. Where the first downbeat is comes from,
in this order:

1. musegen's own marker (`midi_markers`): exact;
2. accents: when note velocities follow the meter (abc2midi plays downbeats louder, and so
   do most players), the downbeats are where the notes are loudest on average
   (`VELOCITY_MARGIN` louder than the other notes at least);
3. note lengths: long notes tend to start on strong beats. Each possible downbeat position
   is scored by the time signature's accent weight at every onset, weighted by the time to
   the next onset; a pickup is taken only when it beats "no pickup" by `AGOGIC_MARGIN`.

Only files with one time signature, given in the MIDI file, are guessed at; otherwise the
music is left as music21 bars it. Measured by `benchmarks/midi_pickup.py` (tunes of
music21's corpus through musegen's and abc2midi's MIDI writers).
"""

from __future__ import annotations

import io
from collections import defaultdict
from fractions import Fraction
from typing import TYPE_CHECKING

from musegen_cli.notation.midi_markers import read_pickup

if TYPE_CHECKING:
    from music21 import meter, stream

#: How much louder (MIDI velocity) the downbeats must be than the other notes.
VELOCITY_MARGIN = 8.0
#: How much better (accent weight per quarter note) a pickup must explain the note lengths.
AGOGIC_MARGIN = 0.08
#: Pickup lengths are whole multiples of this (a sixteenth note), in quarter notes.
_GRID = Fraction(1, 4)


def bar_from_pickup(score: stream.Score, midi: bytes) -> stream.Score:
    """`score` as read from `midi`, with its first bar the pickup when it has one (in place)."""
    import mido

    declared = read_pickup(mido.MidiFile(file=io.BytesIO(midi)))
    signatures = list(score.recurse().getElementsByClass("TimeSignature"))
    if not signatures:
        return score
    bar = _exact(signatures[0].barDuration.quarterLength)
    if declared is None:
        if not _one_declared_meter(midi, signatures):
            return score
        declared = detect_pickup(_timed_notes(score), signatures[0])
    if 0 < declared < bar:
        for part in list(score.parts):
            score.replace(part, _rebarred(part, declared, bar))
    return score


def detect_pickup(notes: list[tuple[Fraction, float]], signature: meter.TimeSignature) -> Fraction:
    """The pickup in quarter notes (0 for none) of notes given as (onset, velocity)."""
    bar = _exact(signature.barDuration.quarterLength)
    loudness: dict[Fraction, list[float]] = defaultdict(list)
    for onset, velocity in notes:
        loudness[onset].append(velocity)
    onsets = sorted(loudness)
    if not onsets:
        return Fraction(0)
    candidates = sorted({Fraction(0)} | {o % bar for o in onsets if (o / _GRID).denominator == 1})
    accented = _by_accents(onsets, loudness, bar, candidates)
    if accented is not None:
        return accented
    return _by_lengths(onsets, signature, bar, candidates)


def _by_accents(onsets: list[Fraction], loudness: dict[Fraction, list[float]], bar: Fraction,
                candidates: list[Fraction]) -> Fraction | None:
    """The downbeat position whose notes are loudest, when they clearly are; else None."""
    mean = {o: sum(v) / len(v) for o, v in loudness.items()}
    best, best_lead = None, VELOCITY_MARGIN
    for shift in candidates:
        down = [mean[o] for o in onsets if (o - shift) % bar == 0]
        other = [mean[o] for o in onsets if (o - shift) % bar != 0]
        if down and other:
            lead = sum(down) / len(down) - sum(other) / len(other)
            if lead > best_lead:
                best, best_lead = shift, lead
    return best


def _by_lengths(onsets: list[Fraction], signature: meter.TimeSignature, bar: Fraction,
                candidates: list[Fraction]) -> Fraction:
    """The downbeat position that puts the long notes on the strong beats, when it clearly does."""
    spans = [float(b - a) for a, b in zip(onsets, onsets[1:])] + [0.0]
    total = sum(spans) or 1.0

    def fit(shift: Fraction) -> float:
        weight = signature.getAccentWeight
        return sum(span * weight(float((o - shift) % bar), forcePositionMatch=False)
                   for o, span in zip(onsets, spans)) / total

    unshifted = fit(Fraction(0))
    scored = [(fit(shift), -shift) for shift in candidates if shift]
    if not scored:
        return Fraction(0)
    score, negative_shift = max(scored)
    return -negative_shift if score - unshifted > AGOGIC_MARGIN else Fraction(0)


def _timed_notes(score: stream.Score) -> list[tuple[Fraction, float]]:
    """(onset in quarter notes, velocity) of every sounding note of every part, ties joined."""
    notes = []
    for part in score.parts:
        for element in part.flatten().stripTies().notes:
            velocity = element.volume.velocity if element.volume.velocity is not None else 64
            notes.append((_exact(element.offset), float(velocity)))
    return notes


def _one_declared_meter(midi: bytes, signatures: list[meter.TimeSignature]) -> bool:
    """music21 assumes 4/4 for a MIDI file without a time signature: no grounds to guess."""
    import mido

    declared = {(m.numerator, m.denominator) for track in mido.MidiFile(file=io.BytesIO(midi)).tracks
                for m in track if m.type == "time_signature"}
    return len(declared) == 1 and len({s.ratioString for s in signatures}) == 1


def _rebarred(part: stream.Part, pickup: Fraction, bar: Fraction) -> stream.Part:
    """A copy of `part` barred so that its first measure is `pickup` long (number 0, padded
    on the left, as music21 reads an ABC pickup), and a last bar that completes the pickup
    keeps that length instead of being filled with rests."""
    from music21 import bar as barline
    from music21 import note, stream

    gap = bar - pickup
    voiced = any(m.hasVoices() for m in part.getElementsByClass(stream.Measure))
    shifted = stream.Part()
    shifted.partName = part.partName
    flat = part.flatten().stripTies()
    for element in flat.elements:
        if isinstance(element, (note.Rest, barline.Barline)):
            continue
        offset = _exact(flat.elementOffset(element))
        at_start = offset == 0 and not isinstance(element, note.GeneralNote)
        shifted.insert(0 if at_start else offset + gap, element)
    shifted.makeMeasures(inPlace=True)
    measures = list(shifted.getElementsByClass(stream.Measure))
    if voiced:
        for measure in measures:
            measure.makeVoices(inPlace=True, fillGaps=False)
    shifted.makeTies(inPlace=True)
    _open_with_pickup(measures[0], gap)
    if len(measures) > 1:
        _end_with_complement(measures[-1], pickup, bar)
    result = stream.Part()
    result.partName = part.partName
    for index, measure in enumerate(measures):
        measure.number = index
        result.insert(0 if index == 0 else _exact(measure.offset) - gap, measure)
    result.makeRests(inPlace=True, fillGaps=True, timeRangeFromBarDuration=True)
    return result


def _open_with_pickup(measure: stream.Measure, gap: Fraction) -> None:
    """Move the notes of the first measure to its start and pad it by `gap` on the left."""
    from music21 import note

    for container in [measure, *measure.voices]:
        for element in list(container.elements):
            offset = _exact(container.elementOffset(element))
            if offset >= gap and isinstance(element, note.GeneralNote):
                container.setElementOffset(element, offset - gap)
        container.coreElementsChanged()
    measure.paddingLeft = float(gap)


def _end_with_complement(measure: stream.Measure, pickup: Fraction, bar: Fraction) -> None:
    """A last bar whose notes end where the pickup's complement does is that short (ABC's
    convention; MIDI does not say how long the last bar is)."""
    ends = [_exact(n.getOffsetInHierarchy(measure)) + _exact(n.quarterLength) for n in measure.recurse().notes]
    if ends and max(ends) == bar - pickup:
        measure.paddingRight = float(pickup)


def _exact(value: float | Fraction) -> Fraction:
    return Fraction(value).limit_denominator(10**4)
