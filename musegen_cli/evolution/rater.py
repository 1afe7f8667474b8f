"""Rating candidates in the terminal: show, play, and read one key.

Keys: `1`-`5` rate, `r` replay, `s` skip, `f` favourite (then rate), `u` undo the previous
rating, `q` save and quit. On a terminal a single key press is enough; without one (a pipe,
a file, a test) the same keys come one per line, so scripts drive a session.

Playback synthesizes the piece (`notation.conversion`, WAV) and plays it through
sounddevice when it imports and a device answers; otherwise the WAV is written next to the
session and its path shown. sounddevice is imported lazily: without PortAudio it raises
OSError at import, and without a sound card `play` raises PortAudioError.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol

Action = Literal["rate", "skip", "favourite", "undo", "quit"]
KEYS_HELP = "1-5 rate · r replay · s skip · f favourite · u undo · q save and quit"


@dataclass(frozen=True)
class Response:
    action: Action
    rating: int | None = None
    favourite: bool = False


class KeySource(Protocol):
    def read(self) -> str:
        """The next key (lower case); "" when input has ended."""


class LineKeys:
    """Keys one per line from a text stream (stdin without a terminal, or a file)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def read(self) -> str:
        line = self.stream.readline()
        return line.strip().lower()[:1] if line else ""


class TerminalKeys:
    """Single key presses from the terminal, without waiting for Enter (POSIX)."""

    def read(self) -> str:
        import termios
        import tty

        descriptor = sys.stdin.fileno()
        saved = termios.tcgetattr(descriptor)
        try:
            tty.setcbreak(descriptor)
            key = sys.stdin.read(1)
        finally:
            termios.tcsetattr(descriptor, termios.TCSADRAIN, saved)
        if key == "\x03":  # Ctrl-C in cbreak mode still arrives as a signal on most terminals
            raise KeyboardInterrupt
        return key.lower()


def default_keys() -> KeySource:
    """Key presses on a terminal, else lines from stdin."""
    import importlib.util

    if sys.stdin.isatty() and importlib.util.find_spec("termios") is not None:  # POSIX terminals
        return TerminalKeys()
    return LineKeys(sys.stdin)


def ask(keys: KeySource, play: Callable[[], None], say: Callable[[str], None]) -> Response:
    """Read keys until they make a response; `r` plays again, `f` marks a favourite and
    still waits for the rating (or a skip). Input that ends counts as `q`."""
    favourite = False
    while True:
        key = keys.read()
        if key in ("1", "2", "3", "4", "5"):
            return Response("rate", int(key), favourite)
        if key == "r":
            play()
        elif key == "f":
            favourite = True
            say("favourite; now rate it (1-5) or skip (s)")
        elif key == "s":
            return Response("skip", None, favourite)
        elif key == "u":
            return Response("undo")
        elif key in ("q", ""):
            return Response("quit")
        else:
            say(f"keys: {KEYS_HELP}")


class Player:
    """Plays ABC through the sound card, or writes a WAV when there is none."""

    def __init__(self, folder: Path, say: Callable[[str], None], audio: bool = True) -> None:
        self.folder, self.say, self.audio = folder, say, audio

    def play(self, abc: str, name: str) -> Path | None:
        """Play the piece; returns the WAV written instead, if any."""
        wav = _synthesize(abc)
        if wav is None:
            self.say("(could not synthesize this piece)")
            return None
        if self.audio and _play(wav):
            return None
        from musegen_cli.files import atomic_write

        path = self.folder / f"{name}.wav"
        atomic_write(path, wav)
        self.say(f"no audio device: wrote {path}")
        return path


def _synthesize(abc: str) -> bytes | None:
    from musegen_cli.errors import MusegenError
    from musegen_cli.notation.conversion import convert

    try:
        pieces = convert(abc.encode("utf-8"), "abc", "wav")
    except MusegenError:
        return None
    return pieces[0].outputs[0] if pieces and pieces[0].outputs else None


def _play(wav: bytes) -> bool:
    """Play WAV bytes and wait; False when no audio device can be used."""
    import io
    import wave

    try:
        import numpy as np
        import sounddevice
    except (ImportError, OSError):
        return False
    with wave.open(io.BytesIO(wav)) as reader:
        rate, width, channels = reader.getframerate(), reader.getsampwidth(), reader.getnchannels()
        frames = reader.readframes(reader.getnframes())
    samples = np.frombuffer(frames, dtype=np.int16 if width == 2 else np.uint8).reshape(-1, channels)
    try:
        sounddevice.play(samples, rate)
        sounddevice.wait()
    except Exception:  # sounddevice.PortAudioError and friends: no usable device
        return False
    return True
