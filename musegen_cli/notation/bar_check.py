"""Checking bars while a tune is being written: does the bar just written fit the meter?

`BarCheck` follows one tune unit by unit (header lines, then bars, as `abc_patches` cuts
them; a unit longer than one patch arrives in pieces) and judges bars against the meter in
force (`M:`, and `L:` or the default the header's meter implies; inline and body changes
count). The rule is the analyzer's (`analysis.bars`): a bar fits when its length equals the
meter's; a short bar also fits as the first bar of a voice (the pickup), as a bar that
closes a section (`:|`, `||`, `|]`, `::`) when it and one of the voice's pickups make up a
full bar, or as a later bar that opens a section (after those lines, or starting with
`|:`) when it and a short section end already written make up a full bar. The check
cannot see the future, so it asks that later pickup for its partner in the past: an
unpaired one is what the analyzer counts off. Over-long bars never fit, and a bar is
refused as soon as its notes overflow the meter, before its bar line. Music without a meter
is given the benefit of the doubt, and so is a bar the duration reader does not understand,
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

from musegen_cli.notation.abc.fields import meter_value
from musegen_cli.notation.abc.text import INLINE_FIELD, field_readable
from musegen_cli.notation.abc_durations import segment_length
from musegen_cli.notation.abc_grammar import TuneGrammar
from musegen_cli.notation.abc_patches import FIELD

_INLINE = re.compile(r"\[([MLV]):([^\]]*)\]")
_BAR_END = re.compile(r"(\[\||:*\|[\]|:]*|::)\s*$")
_SECTION_END = re.compile(r"(:\||\|\||\|\]|::)\s*$")
_BAR_START = re.compile(r"^\s*(\|:|::|\[\|)?\s*(\[?\d+(?:[,-]\d+)*)?")
_BAR_TOKENS = re.compile(r"\[\||:*\|[\]|:]*|::")
#: Bar lines a slur may stay open over in a strict check. The bundled model opens a slur it
#: then forgets (`(B2 |` and never a `)`); refused at its 8th bar, the bar is written again
#: with the `)` the model was unlikely to write 50 bars later.
SLUR_BARS = 8


class BarCheck:
    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.meter: str | None = None
        self.unit: Fraction | None = None
        self.voice = ""  # "" is also the first named voice: music before any V: belongs to it
        self.first_voice: str | None = None
        self.voices_started: set[str] = set()
        self.pickups: dict[str, set[Fraction]] = {}  # voice -> lengths of its short section openings
        self.endings: dict[str, set[Fraction]] = {}  # voice -> lengths of its short section ends
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
        length = segment_length(body, whole_bar=bool(_BAR_END.search(unit))) if body else None
        if expected is None or body is None:
            return 0
        if length is None:
            return 2 if self.strict else 0
        if length > expected:
            return 1  # over-long, or already overflowing before its bar line
        if not _BAR_END.search(unit) or length == expected:
            return 0
        voice, rest = self._voice_after(unit), expected - length
        if voice not in self.voices_started:
            return 0  # the first bar's pickup
        if (voice in self.section_open or self._opens_section(unit)) and rest in self.endings.get(voice, ()):
            return 0  # a later pickup, completed by a short section end already written
        return 0 if _SECTION_END.search(unit) and rest in self.pickups.get(voice, ()) else 1

    def misfit_at_end(self) -> int:
        """How badly the tune fails if it ends here: a bar still open is its last bar (a
        reader closes it), so a short one must complete a pickup like any section end; a
        strict check also wants that bar line written, and no slur or tie left open."""
        if self.pending.strip():  # a strict check wants the last bar line written, too
            return max(self.misfit("|]"), 1) if self.strict and self._music(self.pending) else self.misfit("|]")
        return 2 if self.strict and self.grammar.open_faults() else 0

    def misfit_as_last(self, text: str) -> int:
        """How badly ``text`` fails as the tune's last unit: its own misfit, or else that of
        the tune ending right after it (`misfit_at_end`), for a sampler at its length cap."""
        misfit = self.misfit(text)
        if misfit:
            return misfit
        after = copy.deepcopy(self)
        after.add(text)
        return after.misfit_at_end()

    @property
    def at_section_end(self) -> bool:
        """Whether the tune, cut before the unit still open, would end cleanly: it has one
        voice, its last bar closed a section (so no pickup waits for its partner) and, in a
        strict check, no slur or tie is left open."""
        return (len(self.voices_started) == 1 and self.voice in self.section_open
                and not (self.strict and self.grammar.open_faults()))

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
        if not (self.in_body and self.slur_bars + 1 >= SLUR_BARS and _BAR_END.search(unit)):
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
        if body:
            length = segment_length(body)
            if length is not None and expected is not None and length < expected:
                if self.voice not in self.voices_started or self.voice in self.section_open or self._opens_section(unit):
                    self.pickups.setdefault(self.voice, set()).add(length)
                if closes:
                    self.endings.setdefault(self.voice, set()).add(length)
            self.voices_started.add(self.voice)
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

    def _field(self, name: str, value: str) -> None:
        if name == "M":
            self.meter = value
        elif name == "L":
            self.unit = _fraction(value)
        elif name == "V" and value.split():
            voice_id = value.split()[0]
            self.first_voice = self.first_voice or voice_id
            self.voice = self._voice_key(voice_id)

    def _expected(self, unit: str) -> Fraction | None:
        """The bar length (units of L) in force for ``unit``, its inline fields included."""
        inline = {name: value.strip() for name, value in _INLINE.findall(unit)}
        bar = meter_value(inline.get("M", self.meter))
        length = _fraction(inline["L"]) if "L" in inline else self.unit
        return None if bar is None else bar / (length or Fraction(1, 8))

    def _voice_after(self, unit: str) -> str:
        voices = [value.split()[0] for name, value in _INLINE.findall(unit) if name == "V" and value.split()]
        return self._voice_key(voices[-1]) if voices else self.voice

    def _voice_key(self, voice_id: str) -> str:
        """The key a voice's bars are kept under. The first voice named (in the header or
        the body) shares the key of the music written before any `V:`, as readers put that
        music in the first voice: its pickup is that music's first bar, not its own."""
        return "" if voice_id == (self.first_voice or voice_id) else voice_id

    @staticmethod
    def _opens_section(unit: str) -> bool:
        return INLINE_FIELD.sub("", unit).lstrip().startswith(("|:", "::"))

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
