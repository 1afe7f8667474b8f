"""The ABC `Q:` field holds whole beats per minute, whatever tempo the source had.

MIDI stores tempo in microseconds per beat, so a converted or generated MIDI (muser's, for
one) often has 121.29 bpm; ABC 2.1 writes the tempo as an integer count of beats.
"""

import io
import re

import mido

from musegen_cli.notation.conversion import convert


def midi_with_tempi(*bpms: float) -> bytes:
    """One bar of four quarter notes per tempo, each bar starting with its tempo."""
    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    song.tracks.append(track)
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    for bpm in bpms:
        track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
        for pitch in (60, 62, 64, 65):
            track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
            track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    buffer = io.BytesIO()
    song.save(file=buffer)
    return buffer.getvalue()


def tempo_fields(abc: str) -> list[str]:
    return re.findall(r"Q:([^\]\n]*)", abc)


def test_fractional_midi_tempi_become_whole_beats_per_minute() -> None:
    (piece,) = convert(midi_with_tempi(121.29, 90.6), "midi", "abc")
    text = piece.outputs[0].decode()
    assert tempo_fields(text) == ["1/4=121", "1/4=91"], text


def test_whole_tempi_are_written_as_they_are() -> None:
    (piece,) = convert(midi_with_tempi(120), "midi", "abc")
    assert tempo_fields(piece.outputs[0].decode()) == ["1/4=120"]
