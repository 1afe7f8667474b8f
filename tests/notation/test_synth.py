"""MIDI to WAV: timing from the file (tempo changes included) and a sane audio file."""

import io
import wave

import mido
import numpy as np
import pytest

from musegen_cli.errors import UserError
from musegen_cli.notation import synth
from musegen_cli.notation.formats import parse_score
from musegen_cli.notation.synth import midi_to_wav, notes_from_midi


def two_track_midi() -> bytes:
    """Track 1: tempo 120 then 60 after one beat; track 2: a program change and two notes."""
    song = mido.MidiFile(ticks_per_beat=480)
    tempo, melody = mido.MidiTrack(), mido.MidiTrack()
    tempo.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    tempo.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=480))
    melody.append(mido.Message("program_change", program=40, channel=1, time=0))
    melody.append(mido.Message("note_on", note=69, velocity=100, channel=1, time=0))
    melody.append(mido.Message("note_off", note=69, velocity=0, channel=1, time=480))
    melody.append(mido.Message("note_on", note=72, velocity=80, channel=1, time=0))
    melody.append(mido.Message("note_on", note=72, velocity=0, channel=1, time=480))
    song.tracks.extend([tempo, melody])
    buffer = io.BytesIO()
    song.save(file=buffer)
    return buffer.getvalue()


def test_notes_carry_seconds_after_tempo_changes() -> None:
    first, second = notes_from_midi(two_track_midi())
    assert (first.pitch, first.start, first.end, first.program) == (69, 0.0, 0.5, 40)
    assert (second.pitch, second.velocity, second.channel) == (72, 80, 1)
    assert second.start == pytest.approx(0.5) and second.end == pytest.approx(1.5)


def test_midi_written_by_mido_is_read_by_music21() -> None:
    score = parse_score(two_track_midi(), "midi")
    assert [n.pitch.midi for n in score.recurse().notes] == [69, 72]


def test_simple_engine_renders_the_notes_at_their_pitch() -> None:
    data = midi_to_wav(two_track_midi(), engine="simple", sample_rate=8000)
    with wave.open(io.BytesIO(data)) as audio:
        assert audio.getframerate() == 8000 and audio.getnchannels() == 1 and audio.getsampwidth() == 2
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(float)
    assert len(samples) / 8000 == pytest.approx(1.5 + 0.15 + 0.05, abs=0.01)
    assert 0.85 * 32767 < np.abs(samples).max() <= 0.9 * 32767
    spectrum = np.abs(np.fft.rfft(samples[: 4000]))  # the first half second: A4 alone
    assert np.fft.rfftfreq(4000, 1 / 8000)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_soundfont_engine_needs_its_optional_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth, "soundfont_path", lambda: None)
    with pytest.raises(UserError, match=r'pip install "musegen\[audio\]"'):
        midi_to_wav(two_track_midi(), engine="soundfont")
    assert midi_to_wav(two_track_midi(), engine="auto").startswith(b"RIFF")


def test_convert_names_the_install_command_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from musegen_cli.cli.app import app

    monkeypatch.setattr(synth, "soundfont_path", lambda: None)
    result = CliRunner().invoke(app, ["convert", "-", "--from", "abc", "--to", "wav", "--synth", "soundfont"],
                                input="X:1\nL:1/4\nK:C\nCDEF|\n")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and 'pip install "musegen[audio]"' in result.stderr


def test_the_audio_extra_installs_what_the_soundfont_engine_imports() -> None:
    import re
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    extra = {re.split(r"[<>=;\[ ]", requirement)[0].replace("-", "_").lower()
             for requirement in project["optional-dependencies"]["audio"]}
    assert set(synth.AUDIO_PACKAGES) <= extra
    assert not extra & {re.split(r"[<>=;\[ ]", r)[0].lower() for r in project["dependencies"]}


def test_soundfont_engine_when_installed() -> None:
    if synth.soundfont_path() is None:
        pytest.skip('the audio extra is not installed (pip install -e ".[audio]")')
    data = midi_to_wav(two_track_midi(), engine="soundfont", sample_rate=22050)
    with wave.open(io.BytesIO(data)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 22050)
        assert audio.getnframes() / audio.getframerate() == pytest.approx(1.5 + 1.0, abs=0.01)
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    rate = 22050
    for (start, end), pitch in (((0.05, 0.5), 440.0), ((0.6, 1.4), 523.25)):  # A4, then C5 at half speed
        piece = samples[int(start * rate) : int(end * rate)] * np.hanning(int(end * rate) - int(start * rate))
        spectrum = np.abs(np.fft.rfft(piece))
        assert np.fft.rfftfreq(len(piece), 1 / rate)[spectrum.argmax()] == pytest.approx(pitch, rel=0.01)
    assert np.abs(samples[-rate // 4 :]).max() < 0.05 * 32767  # faded out by the end
