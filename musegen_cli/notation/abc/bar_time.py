"""How long one bar of ABC music lasts, by musegen's ABC reader.

The sampler's bar check times each bar as the model writes it; the analyzer times a finished
tune's bars by reading it with `reader.read_tune`. Both go through `music.MusicLine` and
`voice_state.VoiceState`, so a chord, a broken rhythm, a tuplet or a grace note lasts the
same in the bar the model is writing and in the piece the strict check judges.
"""

from __future__ import annotations

from fractions import Fraction

from musegen_cli.errors import UserError
from musegen_cli.notation.abc import fields
from musegen_cli.notation.abc.model import Voice
from musegen_cli.notation.abc.music import MusicLine
from musegen_cli.notation.abc.voice_state import VoiceState


class _BarReader:
    """The little of `reader._TuneReader` that `MusicLine` asks for when it reads one bar:
    somewhere to put warnings and a way to raise an error (inline fields are read by the
    caller, so no voice is ever switched)."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.current: VoiceState | None = None

    def warn(self, line: int, column: int, message: str) -> None:
        self.warnings.append(message)

    def error(self, line: int, column: int, expected: str) -> UserError:
        return UserError(f"column {column}: expected {expected}")

    def _voice(self, voice_id: str, spec: str) -> VoiceState:
        raise UserError("a voice change inside a timed bar")


def bar_length(music: str, unit: Fraction, meter: str | None = None, whole_bar: bool = False) -> Fraction | None:
    """The length of ``music`` (a bar's notes, without inline fields; bar lines count no
    time) in units of ``unit`` (the `L:` length) under the `M:` value ``meter``, or None
    when the reader skips anything in it or cannot read it. With ``whole_bar`` a tuplet
    left open at its end also makes it unreadable: readers would carry it into the next
    bar's notes."""
    reader = _BarReader()
    state = VoiceState(
        Voice("1"),
        signature={},
        octave=0,
        unit=unit,
        meter=fields.meter_value(meter),
        compound=fields.is_compound(meter),
    )
    try:
        MusicLine(reader, music, 1).read(state)  # type: ignore[arg-type]
    except UserError:
        return None
    if reader.warnings or state.overlays or (whole_bar and state.tuplet_left):
        return None  # `&` overlays share the bar's time: left to the analyzer, as before
    return sum((bar.length for bar in (*state.voice.bars, state.bar)), Fraction(0)) / unit
