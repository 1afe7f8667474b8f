"""A tune's performance as a Standard MIDI File (type 1, 480 ticks per quarter note).

Track 0 holds the tempo, the meter and musegen's pickup marker (`midi_markers`: the first
bar's length when it is a pickup, else 0), so that reading the MIDI back keeps the bar
lines where the ABC has them; each voice gets its own track and channel (channel 10,
the drums, only when `%%MIDI channel 10` asks for it), with its `%%MIDI program`. Every note
is switched off: a note struck again while it still sounds is first ended. Chord symbols
are not part of the melody; `chords=True` plays them as block chords (root position, around
the octave below middle C) on a track and channel of their own, each until the next symbol.
"""

from __future__ import annotations

import io
import re
from fractions import Fraction

from musegen_cli.notation.abc.model import Tune
from musegen_cli.notation.abc.playback import Performance, Sounding, perform
from musegen_cli.notation.midi_markers import pickup_marker

TICKS_PER_QUARTER = 480
_TICKS_PER_WHOLE = 4 * TICKS_PER_QUARTER
_DRUMS = 9
_VELOCITY = 80
_ROOTS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_CHORD = re.compile(r"\(?([A-G])([#b]?)([^/\s)]*)(?:/([A-G][#b]?))?")


def tune_to_midi(tune: Tune, *, chords: bool = False) -> bytes:
    """The MIDI bytes of what `tune` plays."""
    return performance_to_midi(perform(tune), tune, chords=chords)


def performance_to_midi(performance: Performance, tune: Tune, *, chords: bool = False) -> bytes:
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(_conductor(performance, tune))
    channels = _channels(tune)
    for index, voice in enumerate(tune.voices):
        notes = [n for n in performance.notes if n.voice == index]
        head = [mido.MetaMessage("track_name", name=voice.name or f"Voice {voice.id}", time=0)]
        if voice.program is not None and channels[index] != _DRUMS:
            head.append(mido.Message("program_change", channel=channels[index], program=voice.program % 128, time=0))
        midi.tracks.append(_track(head, notes, channels[index]))
    if chords and performance.chord_symbols:
        channel = next(c for c in range(16) if c not in channels and c != _DRUMS)
        head = [mido.MetaMessage("track_name", name="Chords", time=0)]
        midi.tracks.append(_track(head, _chord_notes(performance), channel))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def _channels(tune: Tune) -> list[int]:
    free = iter(c for c in range(16) if c != _DRUMS)
    return [voice.channel if voice.channel is not None else next(free, 0) for voice in tune.voices]


def _conductor(performance: Performance, tune: Tune):
    import mido

    track = mido.MidiTrack()
    timed: list[tuple[int, object]] = [(0, pickup_marker(_pickup(tune) * 4))]
    key = _key_name(tune)
    if key:
        timed.append((0, mido.MetaMessage("key_signature", key=key, time=0)))
    if tune.meter is not None and tune.meter.value is not None:
        numerator, denominator = _meter_parts(tune.meter.text, tune.meter.value)
        timed.append((0, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator, time=0)))
    tempos = performance.tempos or [(Fraction(0), 120.0)]
    for time, qpm in tempos:
        timed.append((_ticks(time), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm), time=0)))
    _append_timed(track, sorted(timed, key=lambda item: item[0]))
    return track


_MAJOR_BY_SHARPS = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR_BY_SHARPS = ["Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"]


def _key_name(tune: Tune) -> str | None:
    """The MIDI key signature of the tune's key: minor for `K:..m`, else the major key with
    the same signature (MIDI knows no other modes); None for a signature MIDI cannot hold."""
    signature = tune.key.signature
    sharps = sum(signature.values())
    if abs(sharps) > 7 or len(signature) != abs(sharps):
        return None
    names = _MINOR_BY_SHARPS if tune.key.mode == "minor" else _MAJOR_BY_SHARPS
    return names[sharps + 7]


def _pickup(tune: Tune) -> Fraction:
    """The length of the first bar when it is shorter than the meter (an anacrusis), else 0."""
    if tune.meter is None or tune.meter.value is None or not tune.voices[0].bars:
        return Fraction(0)
    first = tune.voices[0].bars[0].length
    return first if 0 < first < tune.meter.value else Fraction(0)


def _meter_parts(text: str, value: Fraction) -> tuple[int, int]:
    """The written numerator and a power-of-two denominator of a meter (`6/8` stays 6/8)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match and int(match.group(2)) in (1, 2, 4, 8, 16, 32, 64):
        return int(match.group(1)), int(match.group(2))
    denominator = max(value.denominator, 4)
    return value.numerator * denominator // value.denominator, denominator


def _track(head: list, notes: list[Sounding], channel: int):
    import mido

    track = mido.MidiTrack()
    track.extend(head)
    timed = []
    for start, end, pitch in _without_overlaps(notes):
        timed.append((start, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=_VELOCITY, time=0)))
        timed.append((end, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=0)))
    timed.sort(key=lambda item: (item[0], item[1]))
    _append_timed(track, [(tick, message) for tick, _, message in timed])
    return track


def _without_overlaps(notes: list[Sounding]) -> list[tuple[int, int, int]]:
    """Notes in ticks, each at least one tick long; a pitch struck again while it sounds is
    ended first, so no note_on is ever left without its note_off."""
    by_pitch: dict[int, list[tuple[int, int]]] = {}
    for note in notes:
        start = _ticks(note.start)
        by_pitch.setdefault(note.pitch, []).append((start, max(start + 1, _ticks(note.start + note.length))))
    result = []
    for pitch, spans in by_pitch.items():
        spans.sort()
        for i, (start, end) in enumerate(spans):
            if i + 1 < len(spans) and spans[i + 1][0] < end:
                end = spans[i + 1][0]
            if end > start:
                result.append((start, end, pitch))
    return result


def _append_timed(track, timed: list[tuple[int, object]]) -> None:
    now = 0
    for tick, message in timed:
        track.append(message.copy(time=tick - now))
        now = tick


def _ticks(time: Fraction) -> int:
    return round(time * _TICKS_PER_WHOLE)


def _chord_notes(performance: Performance) -> list[Sounding]:
    """Block chords for the chord symbols, each lasting until the next one."""
    symbols = sorted(performance.chord_symbols)
    notes = []
    for i, (time, name, voice) in enumerate(symbols):
        end = symbols[i + 1][0] if i + 1 < len(symbols) else performance.end
        if end <= time:
            continue
        for pitch in chord_pitches(name):
            notes.append(Sounding(time, end - time, pitch, voice))
    return notes


def chord_pitches(name: str) -> list[int]:
    """MIDI pitches of a chord symbol (`G`, `Am7`, `F#dim`, `D7/F#`); [] when unreadable."""
    match = _CHORD.match(name.strip())
    if not match:
        return []
    root = 48 + (_ROOTS[match.group(1)] + {"#": 1, "b": -1, "": 0}[match.group(2)]) % 12
    quality = match.group(3)
    third = 3 if re.match(r"m(?!aj)|min", quality) else 4
    fifth = 7
    if quality.startswith(("dim", "°")) or "b5" in quality:
        third, fifth = 3, 6
    elif quality.startswith(("aug", "+")):
        fifth = 8
    if "sus4" in quality:
        third = 5
    elif "sus2" in quality:
        third = 2
    intervals = [0, third, fifth]
    if re.search(r"maj7|M7|Δ", quality):
        intervals.append(11)
    elif "7" in quality or "9" in quality:
        intervals.append(9 if quality.startswith(("dim7", "°7")) else 10)
    elif "6" in quality:
        intervals.append(9)
    pitches = [root + interval for interval in intervals]
    if match.group(4):
        bass = match.group(4)
        pitches.insert(0, 36 + (_ROOTS[bass[0]] + {"#": 1, "b": -1}.get(bass[1:], 0)) % 12)
    return pitches
