"""The bars of an ABC tune as written, read from music21's ABC tokens.

music21's ABC translator re-bars the music: a bar longer than the meter is split into a full
bar and a remainder that gets an invented time signature of its own, so a 5-beat bar in 4/4
and an 8-beat one both look correct in the translated score. Bars, their lengths and the
repeat structure are therefore read here, from the tokens the translator starts from
(durations with broken rhythms applied; tuplets and grace notes are applied here).

Each `V:` voice gives its own list of bars. The tune is first rewritten as `parse_abc` reads
it (`abc_text.normalize_for_music21`): music21 puts interleaved `[V:1]bar|[V:2]bar|` voices
all in one, where every voice's pickup would look like a short bar in mid-tune; the rewrite
also turns inline `[K:]`, `[M:]`, `[L:]` fields into field lines music21 reads. Known gaps,
all rare in folk collections: the rests `x` and `Z` and the endings `[3` and `[1,2` are not
tokenized by music21 (`[1,2` is read as a first ending).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING

from musegen_cli.analysis.abc_header import meter_value, parse_abc_header
from musegen_cli.analysis.bars import Bar
from musegen_cli.notation.abc_reader import quiet_music21
from musegen_cli.notation.abc_text import normalize_for_music21

if TYPE_CHECKING:
    from music21.abcFormat import ABCBar, ABCNote, ABCToken

_INLINE_FIELD = re.compile(r"\[([A-Za-z]):([^\]]*)\]")
#: `H` (fermata) before a note, rest or chord; music21 drops the note it decorates.
_FERMATA = re.compile(r"H(?=[=_^]*[A-Ga-gz\[(])")
_SECTION_STYLES = {"light-light", "light-heavy", "heavy-light", "heavy-heavy", "heavy"}


def read_abc_bars(tune: str) -> list[list[Bar]]:
    """Written bars of each voice of one tune (the header-only token group is skipped)."""
    from music21 import abcFormat

    handler = abcFormat.ABCHandler()
    with quiet_music21():
        handler.process(_prepared(normalize_for_music21(tune).text))
    groups = handler.splitByVoice()
    if len(groups) == 1:
        return [_Reader(meter=None).read(groups[0].tokens)]
    meter = _header_meter(groups[0].tokens)  # voices start in the header's meter
    return [_Reader(meter).read(group.tokens) for group in groups[1:]]


def _prepared(tune: str) -> str:
    """Work around two music21 gaps: spell the fermata `H` as `!fermata!` in music lines
    (music21 loses the decorated note), and add the standard's default `L:` when the header
    has none (music21 refuses tunes with neither L: nor M:; ABC 2.1 takes 1/16 below a 3/4
    meter, else 1/8)."""
    lines = tune.split("\n")
    tune = "\n".join(line if re.match(r"[A-Za-z]:|%", line) else _FERMATA.sub("!fermata!", line) for line in lines)
    header = tune.split("\nK:", 1)[0]
    if re.search(r"^L:", header, re.MULTILINE):
        return tune
    unit = parse_abc_header(tune).unit_length
    return re.sub(r"^(X:.*\n)?", lambda m: (m.group(0) or "") + f"L:{unit}\n", tune, count=1)


def _header_meter(tokens: list[ABCToken]) -> float | None:
    from music21 import abcFormat

    meter: float | None = None
    for token in tokens:
        if isinstance(token, abcFormat.ABCMetadata) and token.tag == "M":
            meter = _meter_length(token.data)
    return meter


def _meter_length(value: str) -> float | None:
    """Bar length in quarter notes of an M: value; None for "none"."""
    whole = meter_value(value)
    return float(whole * 4) if whole is not None else None


@dataclass
class _Open:
    """The bar being read."""

    length: Fraction = Fraction(0)
    notes: int = 0
    content: bool = False
    starts_repeat: bool = False


class _Reader:
    """Walks the tokens of one voice, closing a bar at each bar line."""

    def __init__(self, meter: float | None) -> None:
        self.meter = meter
        self.bars: list[Bar] = []
        self.open = _Open()
        self.volta: int | None = None  # passes of the ending in force, until it closes

    def read(self, tokens: list[ABCToken]) -> list[Bar]:
        from music21 import abcFormat

        previous = None
        for token in tokens:
            if isinstance(token, abcFormat.ABCBar):
                self._bar_line(token, previous)
            elif isinstance(token, abcFormat.ABCNote):  # ABCChord is a kind of ABCNote
                self._note(token)
            elif isinstance(token, abcFormat.ABCMetadata) and token.tag == "M":
                self.meter = _meter_length(token.data)
            previous = token
        self._close(ends_repeat=False, section_line=True)
        return self.bars

    def _note(self, token: ABCNote) -> None:
        inline = _INLINE_FIELD.fullmatch(token.src.strip())
        if inline:  # music21 tokenizes inline fields such as [M:3/4] as chords
            if inline.group(1) == "M":
                self.meter = _meter_length(inline.group(2))
            return
        if getattr(token, "inGrace", False):
            return
        length = Fraction(token.quarterLength).limit_denominator(10_000)
        tuplet = getattr(token, "activeTuplet", None)
        if tuplet is not None:
            length *= Fraction(tuplet.numberNotesNormal, tuplet.numberNotesActual)
        self.open.length += length
        self.open.content = True
        if not getattr(token, "isRest", False) and getattr(token, "tie", None) not in ("stop", "continue"):
            self.open.notes += 1

    def _bar_line(self, token: ABCBar, previous: ABCToken | None) -> None:
        form = token.repeatForm
        if form in ("first", "second"):
            self.volta = 1  # an ending is played once; it lasts until a section line
            return
        style = token.barStyle
        follows_end = previous is not None and getattr(previous, "repeatForm", "") == "end"
        if style == "dotted" and follows_end:  # `:|:` arrives as `:|` then `:`
            self.open.starts_repeat = True
            return
        ends_repeat = form == "end"
        self._close(ends_repeat=ends_repeat, section_line=ends_repeat or style in _SECTION_STYLES)
        if form == "start":
            self.open.starts_repeat = True

    def _close(self, *, ends_repeat: bool, section_line: bool) -> None:
        """End the open bar at a bar line; a line with no music before it (`|:` at the
        start, `|` then `:|` across a line break) marks the previous bar instead."""
        if not self.open.content:
            if self.bars and (ends_repeat or section_line):
                last = self.bars[-1]
                self.bars[-1] = replace(
                    last,
                    repeat_end=2 if ends_repeat else last.repeat_end,
                    section_line_after=True,
                )
            return
        self.bars.append(
            Bar(
                length=float(self.open.length),
                expected=self.meter,
                notes=self.open.notes,
                starts_repeat=self.open.starts_repeat,
                repeat_end=2 if ends_repeat else 0,
                volta=self.volta,
                section_line_before=self.open.starts_repeat,
                section_line_after=section_line,
            )
        )
        if section_line:
            self.volta = None
        self.open = _Open()
