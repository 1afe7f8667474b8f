"""Rendering MIDI to a WAV file, with nothing beyond numpy and the standard library.

The built-in engine is a small additive synthesizer (a few harmonics under an ADSR
envelope, per note, mixed down); it always works. When `tinysoundfont` is importable and
the General MIDI soundfont that ships inside the `pretty_midi` wheel is found where
pretty_midi is installed, the "soundfont" engine uses it instead (neither is a musegen
requirement; the soundfont is GPL-2 and is loaded in place, never copied). Timing comes
from the MIDI file, so the score's tempo marks are honoured.
"""

from __future__ import annotations

import importlib.util
import io
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from musegen_cli.errors import UserError

Engine = Literal["auto", "simple", "soundfont"]
ENGINES: tuple[Engine, ...] = ("auto", "simple", "soundfont")
SAMPLE_RATE = 22050
_DRUM_CHANNEL = 9
_RELEASE_S = 0.15


@dataclass(frozen=True)
class SynthNote:
    """One note to sound: times in seconds, MIDI pitch and velocity, GM program."""

    start: float
    end: float
    pitch: int
    velocity: int
    channel: int
    program: int


def midi_to_wav(midi: bytes, *, engine: Engine = "auto", sample_rate: int = SAMPLE_RATE) -> bytes:
    """A 16-bit mono WAV file of `midi` rendered by the chosen engine."""
    notes = notes_from_midi(midi)
    soundfont = soundfont_path()
    if engine == "soundfont" and soundfont is None:
        raise UserError("the soundfont engine needs `tinysoundfont` and `pretty_midi` installed")
    if engine != "simple" and soundfont is not None:
        samples = _render_soundfont(notes, soundfont, sample_rate)
    else:
        samples = _render_additive(notes, sample_rate)
    return _wav_bytes(samples, sample_rate)


def notes_from_midi(midi: bytes) -> list[SynthNote]:
    """Every note of a MIDI file with start and end in seconds (tempo changes applied)."""
    import mido

    try:
        song = mido.MidiFile(file=io.BytesIO(midi))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError on bad files
        raise UserError(f"not valid MIDI: {exc}") from exc
    now = 0.0
    programs = [0] * 16
    sounding: dict[tuple[int, int], list[tuple[float, int]]] = {}
    notes: list[SynthNote] = []
    for message in song:
        now += message.time
        if message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type == "note_on" and message.velocity > 0:
            sounding.setdefault((message.channel, message.note), []).append((now, message.velocity))
        elif message.type in ("note_off", "note_on"):
            started = sounding.get((message.channel, message.note))
            if started:
                start, velocity = started.pop(0)
                channel = message.channel
                notes.append(SynthNote(start, now, message.note, velocity, channel, programs[channel]))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def soundfont_path() -> Path | None:
    """pretty_midi's bundled GM soundfont, when tinysoundfont can play it; else None."""
    if importlib.util.find_spec("tinysoundfont") is None:
        return None
    spec = importlib.util.find_spec("pretty_midi")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "TimGM6mb.sf2"
        if candidate.is_file():
            return candidate
    return None


def _render_additive(notes: list[SynthNote], sample_rate: int):
    """Sum of harmonics per note under an attack-decay-sustain-release envelope."""
    import numpy as np

    end = max((n.end for n in notes), default=0.0) + _RELEASE_S + 0.05
    mix = np.zeros(int(end * sample_rate) + 1, dtype=np.float64)
    harmonics = ((1, 1.0), (2, 0.45), (3, 0.2), (4, 0.1))
    for note in notes:
        if note.channel == _DRUM_CHANNEL or note.end <= note.start:
            continue
        start = int(note.start * sample_rate)
        length = max(1, int((note.end - note.start + _RELEASE_S) * sample_rate))
        t = np.arange(length) / sample_rate
        frequency = 440.0 * 2 ** ((note.pitch - 69) / 12)
        tone = sum(
            weight * np.sin(2 * np.pi * k * frequency * t)
            for k, weight in harmonics
            if k * frequency < sample_rate / 2
        )
        envelope = _adsr(length, note.end - note.start, sample_rate)
        mix[start : start + length] += (note.velocity / 127) * 0.3 * tone * envelope
    return mix


def _adsr(length: int, held: float, sample_rate: int):
    import numpy as np

    t = np.arange(length) / sample_rate
    attack, decay, sustain = 0.01, 0.08, 0.7
    level = np.where(t < attack, t / attack, sustain + (1 - sustain) * np.exp(-(t - attack) / decay))
    released = t > held
    level[released] *= np.exp(-(t[released] - held) / (_RELEASE_S / 4))
    return level


def _render_soundfont(notes: list[SynthNote], soundfont: Path, sample_rate: int):
    """Play the notes through tinysoundfont, generating audio between note events."""
    import numpy as np
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-6.0)
    sfid = synth.sfload(str(soundfont))
    for channel in range(16):
        synth.program_select(channel, sfid, 128 if channel == _DRUM_CHANNEL else 0, 0, channel == _DRUM_CHANNEL)
    events = sorted(
        [(n.start, 1, n) for n in notes] + [(n.end, 0, n) for n in notes],
        key=lambda e: (e[0], e[1]),
    )
    chunks, cursor = [], 0
    programs: dict[int, int] = {}
    for when, is_on, note in events:
        target = int(when * sample_rate)
        if target > cursor:
            chunks.append(np.frombuffer(synth.generate(target - cursor), dtype=np.float32))
            cursor = target
        if is_on:
            if note.channel != _DRUM_CHANNEL and programs.get(note.channel) != note.program:
                synth.program_select(note.channel, sfid, 0, note.program)
                programs[note.channel] = note.program
            synth.noteon(note.channel, note.pitch, note.velocity)
        else:
            synth.noteoff(note.channel, note.pitch)
    chunks.append(np.frombuffer(synth.generate(sample_rate), dtype=np.float32))  # let notes ring out
    stereo = np.concatenate(chunks).reshape(-1, 2)
    return stereo.mean(axis=1).astype(np.float64)


def _wav_bytes(samples, sample_rate: int) -> bytes:
    """16-bit mono PCM WAV, normalised to a peak of -1 dBFS (never clipped)."""
    import numpy as np

    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak > 0:
        samples = samples * (0.89 / peak)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()
