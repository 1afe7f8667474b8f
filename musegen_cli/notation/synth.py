"""Rendering MIDI to a WAV file, with nothing beyond numpy and the standard library.

The built-in engine is a small additive synthesizer (a few harmonics under an ADSR
envelope, per note, mixed down); it always works. The "soundfont" engine plays the MIDI file
through `midirenderer` (a self-contained wheel, no system libraries) with the General MIDI
soundfont that ships inside the `pretty_midi` wheel, loaded where pretty_midi is installed
(it is GPL-2: never copied). Both come with the optional extra `pip install "musegen[audio]"`.
(`tinysoundfont` renders as well, but declares a dependency on pyaudio, which does not build
without PortAudio's headers, so an extra cannot install it.) "auto" takes the soundfont
engine when its packages are there. Timing comes from the MIDI file, so the score's tempo
marks are honoured.
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


#: The import names of the soundfont engine's packages: the optional extra "audio".
AUDIO_PACKAGES = ("midirenderer", "pretty_midi")
#: What to run when the soundfont engine's packages are missing.
AUDIO_EXTRA_INSTALL = 'pip install "musegen[audio]"'
_RING_OUT_S = 1.0


def midi_to_wav(midi: bytes, *, engine: Engine = "auto", sample_rate: int = SAMPLE_RATE) -> bytes:
    """A 16-bit mono WAV file of `midi` rendered by the chosen engine."""
    notes = notes_from_midi(midi)
    soundfont = soundfont_path()
    if engine == "soundfont" and soundfont is None:
        raise UserError(f"the soundfont engine needs the optional audio packages: {AUDIO_EXTRA_INSTALL} "
                        '(in a source checkout: pip install -e ".[audio]")')
    if engine != "simple" and soundfont is not None:
        samples = _render_soundfont(midi, soundfont, sample_rate)
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
    """pretty_midi's bundled GM soundfont, when midirenderer can play it; else None."""
    if any(importlib.util.find_spec(name) is None for name in AUDIO_PACKAGES):
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


def _render_soundfont(midi: bytes, soundfont: Path, sample_rate: int):
    """The MIDI file played by midirenderer (stereo, its own rate), as mono at `sample_rate`."""
    import numpy as np
    import midirenderer

    try:
        rendered = midirenderer.render_wave_from(soundfont.read_bytes(), _with_ring_out(midi, _RING_OUT_S))
    except (ValueError, RuntimeError) as exc:
        raise UserError(f"the soundfont engine cannot play this MIDI file: {exc}") from exc
    with wave.open(io.BytesIO(rendered)) as audio:
        channels, rate = audio.getnchannels(), audio.getframerate()
        pcm = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    mono = pcm.reshape(-1, channels).mean(axis=1) / 32768.0
    return _resampled(mono, rate, sample_rate)


def _with_ring_out(midi: bytes, seconds: float) -> bytes:
    """The MIDI file with one more track that ends `seconds` after the music: the renderer
    stops at the file's last event, which would cut the last notes' release short."""
    import mido

    song = mido.MidiFile(file=io.BytesIO(midi))
    tempo, tempo_tick, end = 500_000, -1, 0
    for track in song.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "set_tempo" and tick >= tempo_tick:
                tempo, tempo_tick = message.tempo, tick
        end = max(end, tick)
    later = end + round(mido.second2tick(seconds, song.ticks_per_beat, tempo))
    song.type = max(song.type, 1)  # a type 0 file holds only one track
    song.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=later)]))
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


def _resampled(samples, source_rate: int, target_rate: int):
    """`samples` at another rate: low-passed below the new Nyquist frequency first when going
    down (a windowed-sinc filter), so nothing folds back as aliasing; then interpolated."""
    import numpy as np

    if source_rate == target_rate:
        return samples
    if target_rate < source_rate:
        cutoff = 0.45 * target_rate / source_rate  # in cycles per source sample
        taps = np.arange(-64, 65)
        kernel = np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
        samples = np.convolve(samples, kernel / kernel.sum(), mode="same")
    times = np.arange(int(len(samples) * target_rate / source_rate)) * (source_rate / target_rate)
    return np.interp(times, np.arange(len(samples)), samples)


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
