"""Reading the music of ABC body lines into bars of events, voice by voice.

`VoiceState` is what a voice carries from one note to the next: its key signature, unit
length and meter, the accidentals written so far in the bar (ABC 2.1 carries them to the end
of the bar: to every octave by default, `%%propagate-accidentals octave|not` narrows that),
a tie waiting for its note (which keeps the tied note's accidental across a bar line), an
open tuplet and a pending broken rhythm. `MusicLine` reads one line of music into it.

Lengths are Fractions of a whole note. A chord and each of its notes last as long as its
first note (ABC 2.1 4.17; abc2midi plays it so); broken rhythm `>` makes the pair 3/2 + 1/2 (`>>` 7/4 + 1/4); `(p:q:r` plays the next
r notes (default p) at q/p of their length, with q from the standard's table when omitted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from musegen_cli.notation.abc import fields
from musegen_cli.notation.abc.model import (
    Annotation,
    Bar,
    ChordSymbol,
    KeyChange,
    MeterChange,
    Note,
    Pitch,
    Rest,
    TempoChange,
    Voice,
)

if TYPE_CHECKING:
    from musegen_cli.notation.abc.reader import _TuneReader

_ACCIDENTAL = re.compile(r"\^\^|\^/?|__|_/?|=")
_ACCIDENTAL_VALUE = {"^^": 2, "^": 1, "^/": 0, "=": 0, "_": -1, "_/": 0, "__": -2}
_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_TUPLET = re.compile(r"\((\d+)(?::(\d*))?(?::(\d*))?")
_BAR = re.compile(r"\.?(?::*\[?\|[\]|]*:*|::+)")
_ENDING = re.compile(r"\s*\[?(\d+(?:\s*[,-]\s*\d+)*)")
_INLINE_FIELD = re.compile(r"\[([A-Za-z]):([^\]]*)\]")
#: Letters ABC 2.1 reserves for decoration shorthands (`~` is the roll; `.` staccato).
_SHORTHANDS = set("HIJKLMNOPQRSTUVWhijklmnopqrstuvw~.")
_TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}


@dataclass
class VoiceState:
    """One voice being read: its bars so far and what carries from note to note."""

    voice: Voice
    signature: dict[str, int]
    octave: int
    unit: Fraction
    meter: Fraction | None
    compound: bool = False
    propagation: str = "pitch"
    #: The long share of a single `>` pair (3/2 by the standard; `%%MIDI ratio a b` sets 2a/(a+b)).
    broken_ratio: Fraction = Fraction(3, 2)
    bar: Bar = field(default_factory=Bar)
    bar_accidentals: dict[object, int] = field(default_factory=dict)
    tie_pending: dict[tuple[str, int], int] = field(default_factory=dict)
    tuplet_left: int = 0
    tuplet_ratio: tuple[int, int] = (1, 1)
    broken_next: Fraction = Fraction(1)
    last_timed: Note | Rest | None = None
    decorations: list[str] = field(default_factory=list)
    #: Voice overlays (`&`): their states, and which one the current bar is in (0: none).
    overlays: list[VoiceState] = field(default_factory=list)
    overlay_index: int = 0

    # -- events -----------------------------------------------------------------------------

    def add_note(self, note: Note) -> None:
        if not note.grace:
            self._time(note)
            for i, pitch in enumerate(note.pitches):
                if note.tie_out[i]:
                    self.tie_pending[(pitch.letter, pitch.octave)] = pitch.alter
        self.bar.events.append(note)

    def add_rest(self, rest: Rest) -> None:
        self._time(rest)
        self.bar.events.append(rest)

    def _time(self, event: Note | Rest) -> None:
        """Apply the pending broken rhythm and the open tuplet to a timed event."""
        scale = self.broken_next
        self.broken_next = Fraction(1)
        if self.tuplet_left:
            p, q = self.tuplet_ratio
            scale *= Fraction(q, p)
            event.tuplet = (p, q)
            self.tuplet_left -= 1
        _scale(event, scale)
        self.last_timed = event
        if isinstance(event, Note):
            self.tie_pending = {}  # a tie reaches only the next note

    def tie_last(self) -> None:
        """Tie the last note or chord into the next one."""
        last = self.last_timed
        if isinstance(last, Note):
            last.tie_out = [True] * len(last.pitches)
            for pitch in last.pitches:
                self.tie_pending[(pitch.letter, pitch.octave)] = pitch.alter

    def broken(self, marks: str) -> None:
        """`>`/`<` runs between two notes: lengthen one, shorten the other."""
        if self.last_timed is None:
            return
        short = Fraction(1, 2 ** len(marks)) if len(marks) > 1 else 2 - self.broken_ratio
        long = 2 - short
        first, second = (long, short) if marks[0] == ">" else (short, long)
        _scale(self.last_timed, first)
        self.broken_next = second

    def pitch(self, letter: str, octave: int, accidental: int | None) -> Pitch:
        """The sounding pitch of a note, by the key, the bar's accidentals and a pending tie."""
        octave += self.octave
        key = (letter, octave) if self.propagation == "octave" else letter
        if accidental is not None:
            alter = accidental
            if self.propagation != "not":
                self.bar_accidentals[key] = accidental
        elif (letter, octave) in self.tie_pending:
            alter = self.tie_pending[(letter, octave)]
        elif key in self.bar_accidentals:
            alter = self.bar_accidentals[key]
        else:
            alter = self.signature.get(letter, 0)
        return Pitch(letter, octave, alter)

    # -- bar lines and fields ---------------------------------------------------------------

    def bar_line(self, token: str, endings: frozenset[int] | None) -> None:
        text = token.lstrip(".")
        closes = len(text) - len(text.lstrip(":"))
        opens = len(text) - len(text.rstrip(":"))
        if set(text) == {":"}:
            closes = opens = 1
        final = "|]" if "]" in text else "||" if ("||" in text or "[|" in text) else ""
        if self.bar.has_music:
            self.bar.repeat_end = self.bar.repeat_end or closes > 0
            self.bar.final = final or self.bar.final
            self.voice.bars.append(self.bar)
            self.bar = Bar()
        elif self.voice.bars and (closes or final):
            previous = self.voice.bars[-1]
            previous.repeat_end = previous.repeat_end or closes > 0
            previous.final = final or previous.final
        if opens:
            self.bar.repeat_start = True
        if endings:
            self.bar.ending_start = endings
        self.bar_accidentals = {}
        self.overlay_index = 0

    def ending(self, numbers: frozenset[int]) -> None:
        self.bar.ending_start = numbers

    def start_part(self, label: str | None) -> None:
        if self.bar.has_music:
            self.voice.bars.append(self.bar)
            self.bar = Bar()
        self.bar.part = label

    def field(self, name: str, value: str) -> None:
        """A key, meter, unit length or tempo change, on a field line or inline."""
        if name == "K":
            key = fields.read_key(value)
            if key.tonic is not None or value.strip().lower().startswith(("none", "hp", "exp")) or key.signature:
                self.signature = key.signature
            self.octave = key.octave
            if key.transpose:
                self.voice.transpose = key.transpose
            self.bar.events.append(KeyChange(value.strip(), key.signature, key.tonic, key.mode))
        elif name == "M":
            self.meter = fields.meter_value(value)
            self.compound = fields.is_compound(value)
            self.bar.events.append(MeterChange(value.strip(), self.meter))
        elif name == "L":
            self.unit = fields.unit_length(value, None)
        elif name == "Q":
            tempo = fields.read_tempo(value, self.unit)
            if tempo:
                self.bar.events.append(TempoChange(tempo))

    def overlay(self) -> VoiceState:
        """The state of the next overlay of this bar (`&`): a voice of its own that starts
        with this bar, its earlier bars silent."""
        self.overlay_index += 1
        if len(self.overlays) < self.overlay_index:
            voice = Voice(f"{self.voice.id}&{self.overlay_index}", transpose=self.voice.transpose)
            self.overlays.append(
                VoiceState(voice, self.signature, self.octave, self.unit, self.meter, self.compound,
                           self.propagation, self.broken_ratio)
            )
        state = self.overlays[self.overlay_index - 1]
        state.signature, state.unit, state.meter = self.signature, self.unit, self.meter
        while len(state.voice.bars) < len(self.voice.bars):
            state.voice.bars.append(Bar([Rest(self.voice.bars[len(state.voice.bars)].length, invisible=True)]))
        state.bar_accidentals = dict(self.bar_accidentals)
        return state

    def close_overlay(self) -> None:
        """An overlay's bar ends with its main voice's bar."""
        if self.bar.has_music:
            self.voice.bars.append(self.bar)
        self.bar = Bar()

    def finish(self) -> list[Voice]:
        """This voice and its overlays; an overlay's bars take the main voice's bar lines,
        so that repeats play them alike."""
        if self.bar.has_music:
            self.voice.bars.append(self.bar)
        self.bar = Bar()
        voices = [self.voice]
        for state in self.overlays:
            state.finish()
            bars = state.voice.bars
            for index, main in enumerate(self.voice.bars):
                if index >= len(bars):
                    bars.append(Bar([Rest(main.length, invisible=True)]))
                bars[index].repeat_start, bars[index].repeat_end = main.repeat_start, main.repeat_end
                bars[index].ending_start, bars[index].final, bars[index].part = main.ending_start, main.final, main.part
            voices.append(state.voice)
        return voices


def _scale(event: Note | Rest, factor: Fraction) -> None:
    if factor == 1:
        return
    event.length *= factor
    if isinstance(event, Note):
        event.lengths = [length * factor for length in event.lengths]


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
        # a decoration between the accidental and its letter (`^!2!c`) belongs to the note
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
        if self.position >= len(text) or text[self.position].upper() not in "ABCDEFG" or not text[self.position].isalpha():
            self.reader.warn(self.number, self.position + 1, "an accidental with no note after it skipped")
            return None
        letter = text[self.position]
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
        field = _INLINE_FIELD.match(text, start)
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
