"""Reading the music of one ABC body line into a voice (`voice_state.VoiceState`).

Lengths are Fractions of a whole note. A chord and each of its notes last as long as its
first note (ABC 2.1 4.17; abc2midi plays it so); broken rhythm `>` makes the pair 3/2 + 1/2
(`>>` 7/4 + 1/4); `(p:q:r` plays the next r notes (default p) at q/p of their length, with q
from the standard's table when omitted.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING

from musegen_cli.notation.abc.model import Annotation, ChordSymbol, Note, Rest
from musegen_cli.notation.abc.text import INLINE_FIELD
from musegen_cli.notation.abc.voice_state import VoiceState

if TYPE_CHECKING:
    from musegen_cli.notation.abc.reader import _TuneReader

_ACCIDENTAL = re.compile(r"\^\^|\^/?|__|_/?|=")
_ACCIDENTAL_VALUE = {"^^": 2, "^": 1, "^/": 0, "=": 0, "_": -1, "_/": 0, "__": -2}
_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_TUPLET = re.compile(r"\((\d+)(?::(\d*))?(?::(\d*))?")
_BAR = re.compile(r"\.?(?::*\[?\|[\]|]*:*|::+)")
_ENDING = re.compile(r"\s*\[?(\d+(?:\s*[,-]\s*\d+)*)")
#: Letters ABC 2.1 reserves for decoration shorthands (`~` is the roll; `.` staccato).
_SHORTHANDS = set("HIJKLMNOPQRSTUVWhijklmnopqrstuvw~.")
_TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}


class MusicLine:
    """One line of music: notes, rests, chords, bar lines, inline fields, decorations."""

    def __init__(self, reader: _TuneReader, text: str, number: int) -> None:
        self.reader = reader
        self.text = text.rstrip()
        self.number = number
        self.position = 0
        self.main: VoiceState | None = None  # the voice an overlay (`&`) belongs to

    def read(self, voice: VoiceState) -> None:
        self.voice = voice
        self._read()
        if self.main is not None:  # an overlay ends with its line at the latest
            self.voice.close_overlay()
            self.voice, self.main = self.main, None

    def _read(self) -> None:
        text = self.text
        while self.position < len(text):
            start = self.position
            char = text[start]
            if char in " \t`$*":
                self.position += 1
            elif char == '"':
                self._quoted()
            elif char == "!" or (char == "+" and "+" in text[start + 1 :]):
                self._decoration(char)
            elif char == "[":
                self._bracket()
            elif _BAR.match(text, start) and (char != "." or text[start + 1 : start + 2] in "|:"):
                self._bar()
            elif char == "{":
                self._grace()
            elif char == "(":
                self._paren()
            elif char == ")":
                self.position += 1
            elif char in "<>":
                marks = re.match(r"<+|>+", text[start:]).group(0)
                self.voice.broken(marks)
                self.position += len(marks)
            elif char in "^_=" or char.upper() in "ABCDEFG":
                note = self._note()
                if note is not None:
                    self.voice.add_note(self._with_decorations(note))
            elif char in "zx":
                self.position += 1
                length = self._length()
                self.voice.add_rest(Rest(self.voice.unit * length, invisible=char == "x"))
            elif char in "ZX":
                self._bar_rests()
            elif char == "y":
                self.position += 1
                self._length()
            elif char == "-":
                self.voice.tie_last()  # `G3 -G2`: a tie after a space still ties (abc2midi)
                self.position += 1
            elif char == "&":
                self.main = self.main or self.voice
                self.voice = self.main.overlay()
                self.position += 1
            elif char in _SHORTHANDS:
                self.voice.decorations.append(char)
                self.position += 1
            elif char == "\\":
                self.position += 1
            else:
                self.reader.warn(self.number, start + 1, f"unexpected character {char!r} skipped")
                self.position += 1

    # -- pieces of music --------------------------------------------------------------------

    def _note(self) -> Note | None:
        """Read accidental, letter, octave marks, length and tie of one note (None, with a
        warning, for an accidental that no note follows)."""
        text = self.text
        decorations: list[str] = []
        accidental = None
        match = _ACCIDENTAL.match(text, self.position)
        if match:
            accidental = _ACCIDENTAL_VALUE[match.group(0)]
            self.position = match.end()
        # a decoration between the accidental and its letter (`^!2!c`) belongs to the note; ABC
        # 2.1 (4.20) orders decorations first, and abc2midi drops the misplaced accidental
        decorated_at = self.position
        while self.position < len(text) and (text[self.position] == "!" or text[self.position] in _SHORTHANDS):
            if text[self.position] == "!":
                end = text.find("!", self.position + 1)
                if end < 0:
                    break
                decorations.append(text[self.position + 1 : end])
                self.position = end + 1
            else:
                decorations.append(text[self.position])
                self.position += 1
        letter = text[self.position] if self.position < len(text) else ""
        if not (letter.isalpha() and letter.upper() in "ABCDEFG"):
            self.reader.warn(self.number, self.position + 1, "an accidental with no note after it skipped")
            return None
        if accidental is not None and self.position > decorated_at:
            self.reader.warn(self.number, decorated_at + 1, "an accidental before a decoration skipped")
            accidental = None
        self.position += 1
        octave = 4 if letter.isupper() else 5
        while self.position < len(text) and text[self.position] in ",'":
            octave += 1 if text[self.position] == "'" else -1
            self.position += 1
        pitch = self.voice.pitch(letter.upper(), octave, accidental)
        if not 0 <= pitch.midi <= 127:
            raise self._error(f"a pitch within MIDI's range (this note is {pitch.midi})")
        length = self.voice.unit * self._length()
        tie = self._tie()
        return Note([pitch], length, [length], [tie], accidentals=[accidental], decorations=decorations)

    def _with_decorations(self, note: Note) -> Note:
        note.decorations = self.voice.decorations + note.decorations
        self.voice.decorations = []
        return note

    def _length(self) -> Fraction:
        match = _LENGTH.match(self.text, self.position)
        numerator, slashes, denominator = match.groups()
        self.position = match.end()
        value = Fraction(int(numerator) if numerator else 1)
        if slashes:
            if denominator:
                if not int(denominator):
                    raise self._error("a note length with a non-zero denominator")
                value /= int(denominator) * 2 ** (len(slashes) - 1)
            else:
                value /= 2 ** len(slashes)
        if value <= 0:
            raise self._error("a note length above zero")
        return value

    def _tie(self) -> bool:
        if self.position < len(self.text) and self.text[self.position] == "-":
            self.position += 1
            return True
        return False

    def _bracket(self) -> None:
        text = self.text
        start = self.position
        field = INLINE_FIELD.match(text, start)
        if field:
            self._inline_field(field.group(1), field.group(2))
            self.position = field.end()
        elif text[start + 1 : start + 2] == "|":
            self._bar()
        elif text[start + 1 : start + 2].isdigit():
            ending = _ENDING.match(text, start + 1)
            self.voice.ending(_ending_numbers(ending.group(1)))
            self.position = ending.end()
        elif re.match(r"\[[A-Za-z]:", text[start:]):
            raise self._error("']' closing the inline field")
        else:
            self._chord()

    def _chord(self) -> None:
        text = self.text
        self.position += 1
        notes: list[Note] = []
        broken = ""
        while True:
            if self.position >= len(text):
                self.reader.warn(self.number, self.position + 1, "a chord '[' not closed on its line; closed here")
                break
            char = text[self.position]
            if char == "]":
                self.position += 1
                break
            if char in "<>":  # `[A>e>]`: broken rhythm written inside the chord
                broken = re.match(r"<+|>+", text[self.position :]).group(0)
                self.position += len(broken)
                continue
            if char in "^_=" or (char.isalpha() and char.upper() in "ABCDEFG"):
                note = self._note()
                if note is not None:
                    notes.append(note)
            elif char == '"':
                self._quoted()
            elif char in "!+":
                self._decoration(char)
            elif char in " \t()-." or char in _SHORTHANDS:
                self.position += 1
            else:
                self.reader.warn(self.number, self.position + 1, f"{char!r} inside a chord skipped")
                self.position += 1
        multiplier = self._length()
        tie = self._tie()
        if not notes:
            return  # `[]` holds nothing to play
        length = notes[0].length * multiplier  # the first note's length is the chord's
        chord = Note(
            [n.pitches[0] for n in notes],
            length,
            [length] * len(notes),
            [n.tie_out[0] or tie for n in notes],
            accidentals=[n.accidentals[0] for n in notes],
            decorations=[d for n in notes for d in n.decorations],
        )
        self.voice.add_note(self._with_decorations(chord))
        if broken:
            self.voice.broken(broken)

    def _grace(self) -> None:
        text = self.text
        end = text.find("}", self.position)
        if end < 0:
            raise self._error("'}' closing the grace notes")
        self.position += 1
        if text[self.position : self.position + 1] == "/":
            self.position += 1
        while self.position < end:
            char = text[self.position]
            if char in "^_=" or (char.isalpha() and char.upper() in "ABCDEFG"):
                note = self._note()
                if note is None:
                    continue
                note.grace = True
                note.tie_out = [False]
                self.voice.bar.events.append(note)
            else:
                self.position += 1
        self.position = end + 1
        # a grace note's accidental is its own (abc2midi and abcm2ps do not carry it)

    def _paren(self) -> None:
        match = _TUPLET.match(self.text, self.position)
        if not match:
            self.position += 1  # a slur: no change to what is played
            return
        p = int(match.group(1))
        if p < 2 or p > 9:
            raise self._error("a tuplet of 2 to 9 notes")
        q = int(match.group(2)) if match.group(2) else self._default_q(p)
        r = int(match.group(3)) if match.group(3) else p
        self.voice.tuplet_ratio = (p, q)
        self.voice.tuplet_left = r
        self.position = match.end()

    def _default_q(self, p: int) -> int:
        if p in _TUPLET_Q:
            return _TUPLET_Q[p]
        return 3 if self.voice.compound else 2

    def _bar_rests(self) -> None:
        """`Z` or `X`: whole bars of rest (`Z4` is four bars)."""
        invisible = self.text[self.position] == "X"
        self.position += 1
        digits = re.match(r"\d*", self.text[self.position :]).group(0)
        self.position += len(digits)
        count = int(digits) if digits else 1
        bar_length = self.voice.meter or Fraction(1)
        for index in range(count):
            if index:
                self.voice.bar_line("|", None)
            self.voice.add_rest(Rest(bar_length, invisible=invisible))

    def _bar(self) -> None:
        if self.main is not None:  # the bar line ends the overlay's bar and its voice's
            self.voice.close_overlay()
            self.voice, self.main = self.main, None
        match = _BAR.match(self.text, self.position)
        token = match.group(0)
        self.position = match.end()
        endings = None
        ending = _ENDING.match(self.text, self.position)
        if ending and (self.text[self.position : self.position + 1].isdigit() or "[" in ending.group(0)):
            endings = _ending_numbers(ending.group(1))
            self.position = ending.end()
        self.voice.bar_line(token, endings)

    def _quoted(self) -> None:
        text = self.text
        end = text.find('"', self.position + 1)
        if end < 0:
            self.reader.warn(self.number, self.position + 1, "a '\"' never closed; the rest of the line is skipped")
            self.position = len(text)
            return
        content = text[self.position + 1 : end]
        self.position = end + 1
        if not content.strip():
            return  # `""` says nothing
        if content[0] in "^_<>@":
            self.voice.bar.events.append(Annotation(content[1:], content[0]))
        elif re.match(r"\(?[A-G]", content):
            self.voice.bar.events.append(ChordSymbol(content))
        else:
            self.voice.bar.events.append(Annotation(content, ""))

    def _decoration(self, mark: str) -> None:
        end = self.text.find(mark, self.position + 1)
        if end < 0:
            self.position += 1  # an old-style line break `!`
            return
        self.voice.decorations.append(self.text[self.position + 1 : end])
        self.position = end + 1

    def _inline_field(self, name: str, value: str) -> None:
        if name == "V":
            voice_id, _, spec = value.strip().partition(" ")
            self.voice = self.reader._voice(voice_id or "1", spec)
            self.reader.current = self.voice
        elif name == "P":
            self.voice.start_part(value.strip() or None)
        elif name in "KMLQ":
            self.voice.field(name, value)

    def _error(self, expected: str) -> Exception:
        return self.reader.error(self.number, self.position + 1, expected)


def _ending_numbers(text: str) -> frozenset[int]:
    """`1`, `1,3`, `1-3` -> the passes an ending is played on."""
    numbers: set[int] = set()
    for part in re.split(r"\s*,\s*", text):
        low, _, high = part.partition("-")
        if high.strip():
            numbers.update(range(int(low), int(high) + 1))
        elif low.strip():
            numbers.add(int(low))
    return frozenset(numbers)
