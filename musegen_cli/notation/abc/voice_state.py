"""What one voice carries from note to note while its music is read.

Its key signature, unit length and meter; the accidentals written so far in the bar (ABC
2.1 carries them to the end of the bar: to every octave by default, `%%propagate-accidentals
octave|not` narrows that); a tie waiting for its note (which keeps the tied note's
accidental across a bar line); an open tuplet and a pending broken rhythm; its voice
overlays (`&`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from musegen_cli.notation.abc import fields
from musegen_cli.notation.abc.model import Bar, KeyChange, MeterChange, Note, Pitch, Rest, TempoChange, Voice


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
    #: A `>`/`<` waiting for its second note: the first note and the two shares.
    broken_pending: tuple[Note | Rest, Fraction, Fraction] | None = None
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
        """Apply the open tuplet and the pending broken rhythm to a timed event."""
        scale = Fraction(1)
        if self.tuplet_left:
            p, q = self.tuplet_ratio
            scale *= Fraction(q, p)
            event.tuplet = (p, q)
            self.tuplet_left -= 1
        if self.broken_pending is not None:
            first, long_share, short_share = self.broken_pending
            self.broken_pending = None
            if first.length == event.length * scale:
                _scale(first, long_share)
                scale *= short_share
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
        """`>`/`<` runs between two notes: lengthen one, shorten the other. Only between notes
        of equal length: ABC 2.1 (4.4) leaves unequal ones undefined, and abc2midi plays them
        as written (`G>A/2` stays G A/2), so musegen does too."""
        if self.last_timed is None:
            return
        short = Fraction(1, 2 ** len(marks)) if len(marks) > 1 else 2 - self.broken_ratio
        long = 2 - short
        shares = (long, short) if marks[0] == ">" else (short, long)
        self.broken_pending = (self.last_timed, *shares)

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
            self.bar.double_repeat = closes > 0
        if endings:
            self.bar.ending_start = endings
        self.bar_accidentals = {}
        self.overlay_index = 0

    def ending(self, numbers: frozenset[int]) -> None:
        """An ending begun inside a bar (`G3 [1 GFE:|`) begins there: the notes before it are
        played on every pass (abc2midi agrees), so they stay in a bar of their own."""
        if self.bar.has_music:
            self.voice.bars.append(self.bar)
            self.bar = Bar()
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
                bars[index].double_repeat = main.double_repeat
            voices.append(state.voice)
        return voices


def _scale(event: Note | Rest, factor: Fraction) -> None:
    if factor == 1:
        return
    event.length *= factor
    if isinstance(event, Note):
        event.lengths = [length * factor for length in event.lengths]
