"""Checking bars while a tune is being written: does the bar just written fit the meter?

`BarCheck` follows one tune unit by unit (header lines, then bars, as `abc_patches` cuts
them; a unit longer than one patch arrives in pieces) and judges bars against the meter in
force (`M:`, and `L:` or the default the header's meter implies; inline and body changes
count), timed by the ABC reader (`abc.bar_time`) as the analyzer times a finished piece.
The rule is what both abc2abc (abcMIDI's checker) and the analyzer (`analysis.bars`) accept,
in the order the bars are written: a bar fits when its length equals the meter's; the
tune's first bar may be short (the pickup: abc2abc exempts only the bar before its first
bar line, in any voice); a later short bar fits only when a repeat sign closes it (`:|`,
`::`, `|:`) in a one-voice tune (a strict check also wants a pickup already written to
complete it: a model's `f4 e/2 d2 :|` under a one-unit pickup asks for a complement no one
writes), and then the next bar must make up the full bar with it
(abc2abc carries the short count into the next bar; the analyzer pairs a short section end
with a short opening), or it ends the tune when a pickup already written completes it. A
short bar before `|`, `||` or `|]` never fits (abc2abc: "Bar 6 is 1/8 not 2/4"), nor does
an unpaired later pickup. Over-long bars never fit, and a bar is
refused as soon as its notes overflow the meter, before its bar line. Music without a meter
is given the benefit of the doubt, and so is a bar the ABC reader cannot time (`abc.bar_time`),
unless the check is `strict` (as the sampler's is: a model's bar that cannot be read is
worth writing again).

A strict check also holds each complete unit to the grammar of `abc_grammar` (slurs, ties,
voices, decorations, inline fields, stray characters), the same rules the strict piece
check (`analysis.piece_check`) applies to a finished piece: a unit that breaks one counts as
unreadable, and a tune may not end with a slur or a tie still open. Because a sampler can only
write the bar in front of it, a strict check also asks for what the finished piece needs while
it can still be written: a meter before `K:` (`M:none` or no `M:` line counts as unreadable),
and a slur closed within `SLUR_BARS` bars (one left open longer is what ends a piece unclosed).

The sampler uses it to write a bar again when the model miscounted (`--bar-retries`).
"""

from __future__ import annotations

import copy
import re
from fractions import Fraction

from musegen_cli.notation.abc.bar_time import bar_length
from musegen_cli.notation.abc.fields import meter_value
from musegen_cli.notation.abc.text import INLINE_FIELD, field_readable
from musegen_cli.notation.abc_grammar import TuneGrammar
from musegen_cli.notation.abc_patches import FIELD

_INLINE = re.compile(r"\[([MLV]):([^\]]*)\]")
_BAR_END = re.compile(r"(\[\||:*\|[\]|:]*|::)\s*$")
_SECTION_END = re.compile(r"(:\||\|\||\|\]|::)\s*$")
_BAR_START = re.compile(r"^\s*(\|:|::|\[\|)?\s*(\[?\d+(?:[,-]\d+)*)?")
_BAR_TOKENS = re.compile(r"\[\||:*\|[\]|:]*|::")
#: Bar lines a slur may stay open over in a strict check. The bundled model opens a slur it
#: then forgets (`(B2 |` and never a `)`); refused at its 8th bar, the bar is written again
#: with the `)` the model was unlikely to write 50 bars later. Refused there only: when no try
#: closes it, later bars are not refused for it (each would spend its whole budget in vain).
SLUR_BARS = 8


class BarCheck:
    def __init__(self, strict: bool = False, cadence: bool = False) -> None:
        self.strict = strict
        #: The tune may end only on a cadence: its last note or chord in the tonic triad
        #: (`misfit_at_end`, `at_section_end`; a strict check, which reads the pitches).
        self.cadence = cadence and strict
        self.meter: str | None = None
        self.unit: Fraction | None = None
        self.voice = ""  # "" is also the first named voice: music before any V: belongs to it
        self.first_voice: str | None = None
        self.voices_started: set[str] = set()
        self.voice_ids: set[str] = set()  # every voice named, in the header or the body
        self.pickups: set[Fraction] = set()  # lengths of the short opening bars written
        self.carry = Fraction(0)  # what a short bar closed by a repeat sign leaves the next bar to fill
        self.bar_lines = 0  # bar lines written in the body, every voice (abc2abc's bar number)
        self.section_open: set[str] = set()  # voices whose last bar closed a section
        self.in_body = False
        self.pending = ""  # the start of a unit longer than one patch
        self.grammar = TuneGrammar()  # the rules beyond bar lengths (strict checks only)
        self.slur_bars = 0  # bar lines written since a slur still open was opened

    def fits(self, text: str) -> bool:
        """Whether ``text`` (a field line, a bar with its closing bar line, or part of a bar)
        may follow what was written so far."""
        return self.misfit(text) == 0

    def misfit(self, text: str) -> int:
        """How badly ``text`` fails: 0 it fits; 1 its length is wrong, or (strict) it keeps a
        slur open too long; 2 it cannot be read (only in a strict check). A sampler out of
        retries keeps its least bad try."""
        misfit = self._misfit(self.pending + text)
        if misfit == 0 and self.strict and self._keeps_slur_open(self.pending + text):
            return 1  # ranked with a miscounted bar: a sampler out of tries keeps a counted one
        return misfit

    def _misfit(self, unit: str) -> int:
        field = FIELD.fullmatch(unit.strip())
        if field and self.strict and unit.endswith("\n") and self._unreadable(*field.groups()):
            return 2  # a meter or unit length no reader can take, or a key with no meter before it
        if self.strict and self._complete(unit) and self.grammar.faults(unit):
            return 2  # a slur, tie, voice or character the grammar refuses
        if not self.in_body or field or unit.lstrip().startswith("%"):
            return 0
        expected = self._expected(unit)
        body = self._music(unit)
        length = self._length(unit, body, whole_bar=bool(_BAR_END.search(unit))) if body else None
        if expected is None:
            return 0
        if body is None:  # bar lines only: one without a repeat sign leaves a short count short
            return 1 if self.carry and _BAR_END.search(unit) and not self._carries(unit) else 0
        if length is None:
            return 2 if self.strict else 0
        total = self.carry + length
        if total > expected:
            return 1  # over-long, or already overflowing before its bar line
        if not _BAR_END.search(unit) or total == expected:
            return 0
        if self.carry:
            return 1  # the bar after a short repeat must make up the full bar
        if self._first_bar(unit):
            return 0  # the pickup
        if self._carries(unit) and not self._several_voices(unit) and (expected - total in self.pickups
                                                                         or not self.strict):
            return 0  # a short section end; the next bar must complete it
        return 1

    def misfit_at_end(self) -> int:
        """How badly the tune fails if it ends here: a bar still open is its last bar (a
        reader closes it), so a short one must complete a pickup like any section end; a
        strict check also wants that bar line written, and no slur or tie left open."""
        if self.pending.strip():  # a strict check wants the last bar line written, too
            return max(self.misfit("|]"), 1) if self.strict and self._music(self.pending) else self.misfit("|]")
        if self.strict and self._open_faults():
            return 2
        return 0 if self._carry_completed() and self._cadence_done() else 1

    def _cadence_done(self) -> bool:
        return not self.cadence or self.grammar.closes_on_triad() is not False

    def _carry_completed(self) -> bool:
        """Whether a short last bar closed by a repeat sign (the count carried) makes up a
        full bar with a pickup written before it, as the analyzer pairs a last bar."""
        expected = self._expected("")
        return not self.carry or expected is None or expected - self.carry in self.pickups

    def misfit_as_last(self, text: str) -> int:
        """How badly ``text`` fails as the tune's last unit: its own misfit, or else that of
        the tune ending right after it (`misfit_at_end`), for a sampler at its length cap."""
        misfit = self.misfit(text)
        if misfit:
            return misfit
        after = copy.deepcopy(self)
        after.add(text)
        after.cadence = False  # a piece cut at its length cap ends where the cap falls
        return after.misfit_at_end()

    @property
    def at_section_end(self) -> bool:
        """Whether the tune, cut before the unit still open, would end cleanly: it has one
        voice, its last bar closed a section (so no pickup waits for its partner) and, in a
        strict check, no slur or tie is left open."""
        return (len(self.voices_started) == 1 and self.voice in self.section_open and self._carry_completed()
                and self._cadence_done() and not (self.strict and self._open_faults()))

    def _open_faults(self) -> list[str]:
        """The slurs and ties left open that keep a tune from ending. A slur kept open past
        its `SLUR_BARS`-th bar line (no try closed it) no longer does: the piece fails the
        strict piece check whatever comes, so it may as well end and be written again."""
        found = self.grammar.open_faults()
        return [fault for fault in found if "slur" not in fault] if self.slur_bars >= SLUR_BARS else found

    def _unreadable(self, name: str, value: str) -> bool:
        """Whether a header line is one a strict check refuses: a meter or unit length no
        reader takes, `M:none`, or the `K:` line of a header that has declared no meter."""
        if name == "M":
            return value.strip().lower() == "none" or not field_readable(name, value)
        if name == "K" and not self.in_body:
            return self.meter is None or meter_value(self.meter) is None
        return not field_readable(name, value)

    def _keeps_slur_open(self, unit: str) -> bool:
        """Whether ``unit`` is a bar that leaves a slur open over `SLUR_BARS` bar lines."""
        if not (self.in_body and self.slur_bars + 1 == SLUR_BARS and _BAR_END.search(unit)):
            return False
        after = copy.deepcopy(self.grammar)
        after.add(unit)
        return _slur_open(after)

    def add(self, text: str) -> None:
        """Take ``text`` as written (call after `fits`, whatever it said). Music that has no
        closing bar line yet (a unit longer than a patch, or a bar running on to the next
        line) waits for the rest."""
        unit = self.pending + text
        if not self._complete(unit):
            self.pending = unit
            return
        self.pending = ""
        if self.strict:
            self.grammar.add(unit)
            if self.in_body and _BAR_END.search(unit):
                self.slur_bars = self.slur_bars + 1 if _slur_open(self.grammar) else 0
        line = unit.strip()
        field = FIELD.fullmatch(line)
        if line.startswith("%"):
            return  # a comment or a condition line
        if field:
            self._field(field.group(1), field.group(2).strip())
            if field.group(1) == "K" and not self.in_body:
                self.in_body = True
                if self.unit is None:  # the default unit length comes from the header's meter
                    bar = meter_value(self.meter)
                    self.unit = Fraction(1, 16) if bar is not None and bar < Fraction(3, 4) else Fraction(1, 8)
            return
        expected = self._expected(unit)
        for name, value in _INLINE.findall(unit):
            self._field(name, value.strip())
        if not (self.in_body and _BAR_END.search(unit)):
            return
        body = self._music(unit)
        closes = bool(_SECTION_END.search(unit))
        first = self._first_bar(unit)
        self.bar_lines += len(_BAR_TOKENS.findall(INLINE_FIELD.sub("", unit)))
        if body:
            length = self._length(unit, body)
            total = self.carry + (length or 0)
            if length is not None and expected is not None and length < expected and (first or self.carry):
                self.pickups.add(length)  # the tune's pickup, or the bar that completes a short repeat
            # abc2abc's count: a bar that misses the meter at a repeat sign hands its count on
            mismatch = length is not None and expected is not None and total != expected
            self.carry = total if mismatch and not first and self._carries(unit) else Fraction(0)
            self.voices_started.add(self.voice)
        elif not self._carries(unit):
            self.carry = Fraction(0)
        if closes or (not body and ("|:" in unit or "::" in unit)):
            self.section_open.add(self.voice)
        elif body:
            self.section_open.discard(self.voice)

    def _complete(self, unit: str) -> bool:
        """Whether ``unit`` is whole: a field, comment or empty line, or music up to a bar line."""
        stripped = unit.strip()
        line = FIELD.fullmatch(stripped) or stripped.startswith("%") or not self._music(unit)
        return unit.endswith("\n") if line else bool(_BAR_END.search(unit))

    def drop_pending(self) -> None:
        """Forget the unit still open (its writer is about to write it again)."""
        self.pending = ""

    def _first_bar(self, unit: str) -> bool:
        """Whether ``unit`` is the tune's first bar: no bar line before its music, in any voice."""
        return self.bar_lines == 0 and not _BAR_TOKENS.match(INLINE_FIELD.sub("", unit).lstrip())

    @staticmethod
    def _carries(unit: str) -> bool:
        """Whether the bar line closing ``unit`` holds a repeat sign (abc2abc then carries a
        short count on instead of reporting it)."""
        match = _BAR_END.search(unit)
        return match is not None and ":" in match.group(1)

    def _several_voices(self, unit: str) -> bool:
        """Whether the tune has named more than one voice (abc2abc counts bars across voices,
        so a count carried from one voice's section end would fill another's bar)."""
        named = {value.split()[0] for name, value in _INLINE.findall(unit) if name == "V" and value.split()}
        return len(self.voice_ids | named) > 1

    def _field(self, name: str, value: str) -> None:
        if name == "M":
            self.meter = value
        elif name == "L":
            self.unit = _fraction(value)
        elif name == "V" and value.split():
            voice_id = value.split()[0]
            self.voice_ids.add(voice_id)
            self.first_voice = self.first_voice or voice_id
            self.voice = self._voice_key(voice_id)

    def _expected(self, unit: str) -> Fraction | None:
        """The bar length (units of L) in force for ``unit``, its inline fields included."""
        inline = {name: value.strip() for name, value in _INLINE.findall(unit)}
        bar = meter_value(inline.get("M", self.meter))
        length = _fraction(inline["L"]) if "L" in inline else self.unit
        return None if bar is None else bar / (length or Fraction(1, 8))

    def _length(self, unit: str, body: str, whole_bar: bool = False) -> Fraction | None:
        """The length of a bar's notes in units of the `L:` in force, timed by the ABC reader
        (`abc.bar_time`), as the analyzer times a finished piece's bars."""
        inline = {name: value.strip() for name, value in _INLINE.findall(unit)}
        length = _fraction(inline["L"]) if "L" in inline else self.unit
        return bar_length(body, length or Fraction(1, 8), inline.get("M", self.meter), whole_bar)

    def _voice_key(self, voice_id: str) -> str:
        """The key a voice's section ends are kept under. The first voice named (in the
        header or the body) shares the key of the music written before any `V:`, as readers
        put that music in the first voice."""
        return "" if voice_id == (self.first_voice or voice_id) else voice_id

    @staticmethod
    def _music(unit: str) -> str | None:
        """The notes of a bar unit: inline fields, bar lines and ending numbers removed."""
        text = INLINE_FIELD.sub("", unit).strip()
        text = _BAR_START.sub("", text, count=1)
        text = _BAR_TOKENS.sub("", text).strip()
        return text or None


def _slur_open(grammar: TuneGrammar) -> bool:
    return any(voice.slurs for voice in grammar.voices.values())


def _fraction(value: str) -> Fraction | None:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    return Fraction(int(match.group(1)), int(match.group(2))) if match and int(match.group(2)) else None
