"""What a tune plays: bars in playing order, then notes with onsets, ties joined.

The playing order (repeats, endings, `P:` parts) is `repeats.py`'s: ABC 2.1 where it decides,
abc2midi where it leaves a choice. Grace notes take their time from the note after them, a
quarter of their written length each (abc2midi's default), at most half of that note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from musegen_cli.notation.abc.model import Bar, ChordSymbol, Note, Rest, TempoChange, Tune, Voice
from musegen_cli.notation.abc.repeats import played_bars

#: Grace notes sound for this share of their written length.
GRACE_SHARE = Fraction(1, 4)


@dataclass
class Sounding:
    """One played note: onset and length in whole notes, MIDI pitch, voice index."""

    start: Fraction
    length: Fraction
    pitch: int
    voice: int
    grace: bool = False


@dataclass
class Performance:
    """Everything a tune plays, voice by voice, on one time line (whole notes)."""

    notes: list[Sounding] = field(default_factory=list)
    chord_symbols: list[tuple[Fraction, str, int]] = field(default_factory=list)
    tempos: list[tuple[Fraction, float]] = field(default_factory=list)
    end: Fraction = Fraction(0)


def perform(tune: Tune) -> Performance:
    """Play every voice of `tune` from the top (see the module docstring)."""
    performance = Performance()
    if tune.tempo:
        performance.tempos.append((Fraction(0), tune.tempo))
    for index, voice in enumerate(tune.voices):
        bars = played_bars(voice.bars, tune.play_order, single_voice=len(tune.voices) == 1)
        _play_voice(bars, voice, index, performance, record_tempo=index == 0)
    return performance


def _play_voice(bars: list[Bar], voice: Voice, index: int, performance: Performance, record_tempo: bool) -> None:
    time = Fraction(0)
    open_ties: dict[int, Sounding] = {}
    graces: list[Note] = []
    for bar in bars:
        for event in bar.events:
            if isinstance(event, Note):
                if event.grace:
                    graces.append(event)
                    continue
                onset, length = time, event.length
                if graces:
                    onset = _play_graces(graces, time, event.length, voice, index, performance)
                    graces = []
                time += event.length
                open_ties = _sound(event, onset, time - onset, length, voice, index, open_ties, performance)
            elif isinstance(event, Rest):
                time += event.length
                open_ties = {}
            elif isinstance(event, ChordSymbol):
                performance.chord_symbols.append((time, event.name, index))
            elif isinstance(event, TempoChange) and record_tempo:
                performance.tempos.append((time, event.quarter_notes_per_minute))
    performance.end = max(performance.end, time)


def _play_graces(
    graces: list[Note], time: Fraction, main: Fraction, voice: Voice, index: int, performance: Performance
) -> Fraction:
    lengths = [grace.length * GRACE_SHARE for grace in graces]
    total = sum(lengths, Fraction(0))
    if total > main / 2:
        lengths = [length * main / 2 / total for length in lengths]
    for grace, length in zip(graces, lengths):
        performance.notes.append(Sounding(time, length, _midi(grace.pitches[0].midi, voice), index, grace=True))
        time += length
    return time


def _sound(
    note: Note,
    onset: Fraction,
    advance: Fraction,
    written: Fraction,
    voice: Voice,
    index: int,
    open_ties: dict[int, Sounding],
    performance: Performance,
) -> dict[int, Sounding]:
    """Sound each pitch of a note or chord, joining it to a tie that waits for that pitch."""
    still_open: dict[int, Sounding] = {}
    for pitch, length, tied in zip(note.pitches, note.lengths, note.tie_out):
        midi = _midi(pitch.midi, voice)
        sounding_length = length - (written - advance)
        held = open_ties.get(midi)
        if held is not None:
            held.length = onset + sounding_length - held.start
            sounding = held
        else:
            sounding = Sounding(onset, sounding_length, midi, index)
            performance.notes.append(sounding)
        if tied:
            still_open[midi] = sounding
    return still_open


def _midi(pitch: int, voice: Voice) -> int:
    return max(0, min(127, pitch + voice.transpose))
