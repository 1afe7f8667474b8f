"""The bars of an ABC tune as written, for the analyzer's bar rules (`analysis.bars`).

Read by musegen's ABC reader (`notation.abc`), the same reading that convert, the scorer
and the data builder use, so a bar's length and its repeat marks are what ABC 2.1 says
they are: broken rhythm, tuplets and chords applied, grace notes taking no time, `x` and
`Z` rests counted, and inline `[M:]` changes applied to the bar they are in. Each `V:`
voice gives its own list of bars.
"""

from __future__ import annotations

from fractions import Fraction

from musegen_cli.analysis.bars import Bar
from musegen_cli.notation.abc.model import Bar as WrittenBar
from musegen_cli.notation.abc.model import MeterChange, Note, Voice


def read_abc_bars(tune: str) -> list[list[Bar]]:
    """Written bars of each voice of one tune; AbcReadError when it is not ABC."""
    from musegen_cli.notation.abc import read_tune

    read = read_tune(tune)
    meter = read.meter.value if read.meter else None
    return [_voice_bars(voice, meter) for voice in read.voices]


def _voice_bars(voice: Voice, meter: Fraction | None) -> list[Bar]:
    bars: list[Bar] = []
    tied: set[int] = set()
    in_ending: int | None = None
    for written in voice.bars:
        for event in written.events:
            if isinstance(event, MeterChange):
                meter = event.value
        if written.ending_start:
            in_ending = len(written.ending_start)
        attacks, tied = _attacks(written, tied)
        section_after = written.repeat_end or bool(written.final)
        bars.append(
            Bar(
                length=float(written.length * 4),
                expected=float(meter * 4) if meter is not None else None,
                notes=attacks,
                starts_repeat=written.repeat_start,
                repeat_end=2 if written.repeat_end else 0,
                volta=in_ending,
                section_line_before=written.repeat_start or written.part is not None,
                section_line_after=section_after,
            )
        )
        if section_after:
            in_ending = None
    return bars


def _attacks(bar: WrittenBar, tied: set[int]) -> tuple[int, set[int]]:
    """Notes struck in the bar (a note that a tie continues is not struck again), and the
    pitches tied on into the next bar."""
    attacks = 0
    for event in bar.events:
        if not isinstance(event, Note) or event.grace:
            continue
        midis = {pitch.midi for pitch in event.pitches}
        if not midis <= tied:
            attacks += 1
        tied = {pitch.midi for pitch, out in zip(event.pitches, event.tie_out) if out}
    return attacks, tied
