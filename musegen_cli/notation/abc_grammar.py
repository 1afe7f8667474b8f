"""The grammar of an ABC tune, checked unit by unit as the tune is read or written.

`TuneGrammar` follows one tune through its units (a header or field line, or one bar of a
music line, as `abc_patches.split_units` cuts them) and says what is wrong with each unit
given what came before. The strict piece check (`analysis.piece_check`) reads a whole tune
with it, and the sampler's bar check (`bar_check`) asks it about every bar as the model
writes it, so what the sampler writes again and what the check refuses are one definition.

The rules (each fault is one line of text):

- header: a title (`T:`), a meter (`M:`, not `none`), readable `M:`/`L:`/`K:` values, and no
  label line (`%key F`: a comment naming a value, as a model's condition lines do; `%%`
  directives and `% remarks` are fine);
- voices: every voice the body names is declared in the header by a `V:` line, voices first
  appear in the order they are declared, and a line of interleaved voices
  (`[V:1]..|[V:2]..|`) names every declared voice, in order;
- slurs: `)` closes a slur opened in the same voice, a slur spans at least two notes, and
  none is left open at the end (tuplets `(3` are not slurs);
- ties: `-` follows a note or chord and ties it to the next note of its voice, which has the
  same pitch (its accidental, else one earlier in the bar on that letter in any octave, as
  ABC 2.1 and musegen's reader carry it, else the key; a tie across a bar line carries its
  accidental); a tie into a rest, or left at the end, is a fault;
- notes: within the MIDI range (0-127), with readable lengths;
- decorations: `!name!`/`+name+` of the ABC 2.1 set (and abcm2ps's common ones), the
  shorthands `.~HLMOPSTuv`, and letters a `U:` line defines;
- inline fields: only those the standard allows inline, with readable values; `[V:]` names
  a declared voice;
- anything else is a stray character, and so is a run of backquotes (one is ABC spacing);
- at the end: the body has bar lines, and its last music closes with one.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from musegen_cli.notation.abc.fields import meter_value, read_key
from musegen_cli.notation.abc.modes import canonical_mode, tonic_triad
from musegen_cli.notation.abc.text import field_readable, strip_comment
from musegen_cli.notation.abc_durations import MAX_SLASHES
from musegen_cli.notation.abc_patches import FIELD

#: Decoration names of ABC 2.1 (section 4.14) and the common abcm2ps additions.
DECORATIONS = frozenset(
    "trill trill( trill) lowermordent uppermordent mordent pralltriller roll turn turnx invertedturn "
    "invertedturnx arpeggio > accent emphasis fermata invertedfermata tenuto 0 1 2 3 4 5 + plus snap slide "
    "wedge upbow downbow open thumb breath pppp ppp pp p mp mf f ff fff ffff sfz sf sfp fp rfz crescendo( <( "
    "crescendo) <) diminuendo( >( diminuendo) >) segno coda D.S. D.C. dacoda dacapo fine shortphrase "
    "mediumphrase longphrase editorial courtesy dot staccato marcato umarcato dmarcato ped ped-up xstem "
    "/ // /// trem1 trem2 trem3 trem4 beambr1 beambr2 rbstop gmark stemless 8va( 8va) 8vb( 8vb) ^ . "
    "tie slur beamon".split()
)
#: Decoration shorthands every reader knows (ABC 2.1 4.14); others need a `U:` definition.
SHORTHANDS = frozenset(".~HLMOPSTuv")
#: Fields the standard allows inside a music line (`[K:D]`).
INLINE_FIELDS = frozenset("IKLMmNPQRrTUV")
#: Lower-case field letters a body line may start with (lyrics, macros, symbols, remarks).
BODY_LOWER_FIELDS = frozenset("wmsr+")
MIDI_RANGE = range(128)

_BASE = {"C": 60, "D": 62, "E": 64, "F": 65, "G": 67, "A": 69, "B": 71}
_ALTER = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)")
_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_REST = re.compile(r"([zx])|([ZX]\d*)")
_BAR = re.compile(r"\[\||\.?:*\|+\]?:*|::+")
_ENDING = re.compile(r"\[?\d+(?:[,-]\d+)*")
_TUPLET = re.compile(r"\(\d(?::\d*)?(?::\d*)?")
_INLINE = re.compile(r"\[([A-Za-z]):([^\]\n]*)\]")
_LABEL_LINE = re.compile(r"%[a-z]+\s+\S")  # `%key F`; not `%%score`, `% remark` or `%Q:80`
#: Tonics a key may have (the major keys from 7 flats to 10 sharps).
_TONICS = frozenset("C G D A E B F# C# F Bb Eb Ab Db Gb Cb G# D# A#".split())
_KEY_WORDS = {"exp", "treble", "bass", "alto", "tenor", "baritone", "perc", "none", "bass3", "alto1", "alto2",
              "mezzosoprano", "soprano", "treble-8", "treble+8", "bass-8", "bass+8"}


def key_signature(value: str) -> dict[str, int] | None:
    """The alteration of each letter a `K:` value sets (`{"F": 1, "C": 1}` for D major), as
    the ABC reader reads it (`fields.read_key`), or None when the value is not a key
    (`cd e3`). `none` and bagpipe `HP` set none."""
    words = strip_comment(value).split()
    if not words or words[0] in ("none", "HP", "Hp"):
        return read_key(" ".join(words)).signature if all(_key_extra(w) for w in words[1:]) else None
    match = re.fullmatch(r"([A-G][#b]?)([A-Za-z]*)", words[0])
    if match is None:
        return {} if all(_key_extra(w) for w in words) else None  # K:clef=bass names no key
    tonic, mode_word, rest = match.group(1), match.group(2), words[1:]
    if not mode_word and rest and canonical_mode(re.sub(r"[^A-Za-z].*", "", rest[0]) or "-"):
        mode_word, rest = rest[0], rest[1:]
    mode = canonical_mode(mode_word) if mode_word else "major"
    if mode is None or tonic not in _TONICS or not all(_key_extra(w) for w in rest):
        return None
    return read_key(" ".join(words)).signature


def _key_extra(word: str) -> bool:
    """A word that may follow the key in `K:`: an explicit accidental, a clef, `name=value`."""
    return bool(re.fullmatch(r"(\^\^|\^|__|_|=)[A-Ga-g]|\w+=\S+", word)) or word.lower() in _KEY_WORDS


@dataclass
class _Tie:
    """A tie waiting for its next note: the tied pitches as (letter, octave, MIDI number)."""

    pitches: list[tuple[str, int, int]]
    crossed_bar: bool = False


@dataclass
class _Voice:
    slurs: list[int] = field(default_factory=list)  # notes in each open slur
    tie: _Tie | None = None
    accidentals: dict[str, int] = field(default_factory=dict)  # this bar's, by letter (every octave)


class TuneGrammar:
    """Follows one tune; `faults(unit)` judges a unit without taking it, `add(unit)` takes it."""

    def __init__(self) -> None:
        self.in_body = False
        self.title = False
        self.meter: str | None = None
        self.declared: list[str] = []  # voice ids of the header's V: lines, in order
        self.shorthands = set(SHORTHANDS)
        self.key: dict[str, int] = {}
        self.triad: frozenset[int] | None = None  # pitch classes of the tonic triad of the key in force
        self.last_onset: list[int] = []  # MIDI numbers of the last note or chord written
        self.voices: dict[str, _Voice] = {}
        self.voice = ""  # the voice in force ("" before any V:)
        self.appeared: list[str] = []  # voices in the order the body first named them
        self.line_voices: list[str] = []  # voices named by inline [V:] in the current line
        self.line_start_voice: str | None = None  # the voice of music before the line's first [V:]
        self.interleaved = False  # a line has named several voices: every line must name them all
        self._last_was_note = False  # the token just read was a note or chord (a tie may follow)
        self._after_bar = False  # the token just read was a bar line (an ending number may follow)
        self.bar_lines = 0
        self.music_open = False  # music written since the last bar line
        self._faults: list[str] = []

    # -- the interface ---------------------------------------------------------------------

    def faults(self, unit: str) -> list[str]:
        """What is wrong with ``unit`` if it came next (nothing is taken)."""
        return copy.deepcopy(self).add(unit)

    def add(self, unit: str) -> list[str]:
        """Take ``unit`` as written; returns its faults."""
        self._faults = []
        for line in re.findall(r"[^\n]*\n|[^\n]+", unit):
            self._line(line)
        return self._faults

    def end_faults(self) -> list[str]:
        """What is wrong with the tune if it ends here."""
        found = []
        if not self.title:
            found.append("no title (T:)")
        if self.meter is None or meter_value(self.meter) is None:
            found.append("no meter (M: missing or none)" if self.meter is None or self.meter.lower() == "none"
                         else f"meter M:{self.meter} cannot be read")
        if not self.in_body:
            found.append("no K: field, so no music")
        elif not self.bar_lines:
            found.append("no bar lines")
        elif self.music_open:
            found.append("the music does not end with a bar line")
        return found + self.open_faults()

    def closes_on_triad(self) -> bool | None:
        """Whether every pitch of the last note or chord is in the tonic triad of the key in
        force (the analyzer's `ends_in_tonic_triad`, read from the text); None without a
        tonic or a note."""
        if self.triad is None or not self.last_onset:
            return None
        return all(midi % 12 in self.triad for midi in self.last_onset)

    def open_faults(self) -> list[str]:
        """Slurs and ties the music leaves open (a tune may not end with one)."""
        found = []
        for name, voice in self.voices.items():
            where = f" in voice {name}" if name else ""
            if voice.slurs:
                found.append(f"a slur is never closed{where}")
            if voice.tie is not None:
                found.append(f"a tie at the end ties to no note{where}")
        return found

    # -- lines -----------------------------------------------------------------------------

    def _fault(self, text: str) -> None:
        self._faults.append(text)

    def _line(self, line: str) -> None:
        stripped = line.strip()
        field_match = FIELD.fullmatch(stripped)
        if not stripped:
            return
        if stripped.startswith("%"):
            if not self.in_body and _LABEL_LINE.match(stripped):
                self._fault(f"a label line in the header: {stripped[:30]}")
            return
        if field_match:
            self._field(field_match.group(1), field_match.group(2).strip(), inline=False)
            return
        if not self.in_body:
            self._fault(f"music before the K: field: {stripped[:30]}")
            return
        self._music(line)
        if line.endswith("\n"):
            self._end_of_line()

    def _field(self, name: str, value: str, inline: bool) -> None:
        shown = f"[{name}:{value}]" if inline else f"{name}:{value}"
        if inline and name not in INLINE_FIELDS:
            self._fault(f"field {name}: may not stand inside a music line ({shown[:30]})")
            return
        if not inline and self.in_body and name.islower() and name not in BODY_LOWER_FIELDS:
            self._fault(f"an unknown field line: {shown[:30]}")
            return
        if name in "ML" and not field_readable(name, value):
            self._fault(f"unreadable {shown[:30]}")
            return
        if name == "T" and value:
            self.title = True
        elif name == "M":
            self.meter = value
        elif name == "U":
            letter = value.split("=", 1)[0].strip()
            if len(letter) == 1:
                self.shorthands.add(letter)
        elif name == "K":
            self._key(value, shown)
        elif name == "V":
            self._voice(value, shown, inline)

    def _key(self, value: str, shown: str) -> None:
        alters = key_signature(value)
        if alters is None:
            self._fault(f"unreadable key {shown[:30]}")
        else:
            self.key = alters
            key = read_key(strip_comment(value))
            self.triad = tonic_triad(key.tonic, key.mode) if key.tonic and key.mode else None
        if not self.in_body and self.declared:
            self.voice = self.declared[0]  # readers put music before any V: in the first voice
        self.in_body = True

    def _voice(self, value: str, shown: str, inline: bool) -> None:
        words = value.split()
        voice = words[0] if words else ""
        if not re.fullmatch(r"\w+", voice):
            self._fault(f"unreadable voice {shown[:30]}")
            return
        if not self.in_body:
            if voice not in self.declared:
                self.declared.append(voice)
            return
        if voice not in self.declared:
            self._fault(f"voice {voice} is not declared in the header")
        elif voice not in self.appeared:
            missing = [v for v in self.declared[: self.declared.index(voice)] if v not in self.appeared]
            if missing:
                self._fault(f"voice {voice} comes before voice {missing[0]}, against the header's order")
            self.appeared.append(voice)
        if inline:
            earlier = [self.line_start_voice] if self.line_start_voice is not None else []
            order = [self.declared.index(v) for v in earlier + self.line_voices if v in self.declared]
            if voice in self.declared and order and self.declared.index(voice) <= order[-1]:
                self._fault(f"voice {voice} is out of order in an interleaved line")
            self.line_voices.append(voice)
        self.voice = voice

    def _end_of_line(self) -> None:
        """An interleaved line (one holding inline `[V:]` fields) names every voice."""
        named, self.line_voices = self.line_voices, []
        if self.line_start_voice is not None:
            named = [self.line_start_voice, *named]
        self.line_start_voice = None
        self.interleaved = self.interleaved or len(set(named)) > 1
        if not (self.interleaved and named and self.declared):
            return
        missing = [v for v in self.declared if v not in named]
        if missing:
            self._fault(f"an interleaved line lacks voice {missing[0]}")

    # -- music -----------------------------------------------------------------------------

    def _state(self) -> _Voice:
        return self.voices.setdefault(self.voice, _Voice())

    def _music(self, line: str) -> None:
        pos: int | None = 0
        while pos is not None and pos < len(line):
            if line[pos] in " \t\n":
                self._last_was_note = False
                pos += 1
            elif line[pos] == "%":
                return
            else:
                pos = self._token(line, pos)

    def _sounding(self) -> None:
        """A note or rest was written: the music is open, and belongs to the line's voice."""
        self.music_open = True
        if not self.line_voices and self.line_start_voice is None:
            self.line_start_voice = self.voice
        if self.voice in self.declared and self.voice not in self.appeared:
            self.appeared.append(self.voice)

    def _token(self, line: str, pos: int) -> int | None:
        """Read one token at ``pos``; the position after it (None: give up on this line)."""
        char, rest = line[pos], line[pos:]
        was_note, self._last_was_note = self._last_was_note, False
        after_bar, self._after_bar = self._after_bar, False
        if after_bar and char.isdigit():  # `|1`, or `1` opening the unit after `|`
            return _ENDING.match(line, pos).end()
        if char == "`":
            run = len(rest) - len(rest.lstrip("`"))
            if run > 1:
                self._fault("a run of backquotes")
            self._last_was_note = was_note
            return pos + run
        if char == "\\":
            if rest[1:].strip():
                self._fault("a stray backslash")
            return len(line)
        if char == '"':
            close = line.find('"', pos + 1)
            if close < 0:
                self._fault("an unclosed quoted string")
                return None
            return close + 1
        if char in "!+":
            close = line.find(char, pos + 1)
            if close < 0 or close == pos + 1 and char == "+":
                self._fault(f"an unclosed decoration {rest[:12].strip()}")
                return None
            name = line[pos + 1 : close]
            if name not in DECORATIONS:
                self._fault(f"an unknown decoration {char}{name[:20]}{char}")
            return close + 1
        inline = _INLINE.match(line, pos)
        if inline:
            self._field(inline.group(1), inline.group(2).strip(), inline=True)
            return inline.end()
        bar = _BAR.match(line, pos)
        if bar:
            self._bar_line()
            self._after_bar = True
            return bar.end()
        if char == "[":
            if re.match(r"\[\d", rest):
                return _ENDING.match(line, pos).end()
            if re.match(r"\[[A-Za-z]:", rest):
                self._fault(f"an unclosed inline field {rest[:12].strip()}")
                return None
            return self._chord(line, pos)
        if char == "(":
            tuplet = _TUPLET.match(line, pos)
            if tuplet:
                return tuplet.end()
            self._state().slurs.append(0)
            return pos + 1
        if char == ")":
            state = self._state()
            if not state.slurs:
                self._fault("a slur closed that was never opened")
            elif state.slurs.pop() < 2:
                self._fault("a slur on one note")
            return pos + 1
        if char == "{":
            close = line.find("}", pos)
            if close < 0:
                self._fault("an unclosed grace group")
                return None
            inner = line[pos + 1 : close].lstrip("/")
            if _NOTE.search(inner):
                self._count_slur_note()  # a grace group counts as one note of a slur
            return close + 1
        if char == "-":
            if not was_note:
                self._fault("a tie that follows no note")
            return pos + 1
        if char in "<>":
            self._last_was_note = False
            return pos + len(rest) - len(rest.lstrip(char))
        if char in self.shorthands or char in "&$y":
            return pos + 1
        rest_match = _REST.match(line, pos)
        if rest_match:
            state = self._state()
            if state.tie is not None:
                self._fault("a tie into a rest")
                state.tie = None
            self._sounding()
            return self._length(line, rest_match.end())
        note = _NOTE.match(line, pos)
        if note:
            pitch = self._pitch(note)
            if pitch is None:
                return None
            end = self._length(line, note.end())
            tied = line.startswith("-", end)
            self._notes([pitch], [tied and pitch] if tied else [])
            self._last_was_note = True
            return end + 1 if tied else end
        self._fault(f"a stray character {char!r}")
        return pos + 1

    def _chord(self, line: str, pos: int) -> int | None:
        close = line.find("]", pos)
        if close < 0:
            self._fault("an unclosed chord")
            return None
        inner, pitches, tied = line[pos + 1 : close], [], []
        at = 0
        while at < len(inner):
            if inner[at] in " \t!\"." or inner[at] in self.shorthands:
                skip = inner.find(inner[at], at + 1) if inner[at] in '!"' else at
                at = (skip if skip > at else at) + 1
                continue
            note = _NOTE.match(inner, at)
            if note is None:
                self._fault(f"a stray character {inner[at]!r} in a chord")
                return close + 1
            pitch = self._pitch(note)
            if pitch is None:
                return None
            at = self._length(inner, note.end())
            pitches.append(pitch)
            if inner.startswith("-", at):
                tied.append(pitch)
                at += 1
        if not pitches:
            self._fault("an empty chord")
            return close + 1
        end = self._length(line, close + 1)
        if line.startswith("-", end):
            tied, end = pitches, end + 1
        self._notes(pitches, tied)
        self._last_was_note = True
        return end

    def _pitch(self, note: re.Match[str]) -> tuple[str, int, int, bool] | None:
        """(letter, octave, MIDI number, explicit accidental) of a note; None beyond MIDI."""
        accidental, letter, marks = note.groups()
        octave = (1 if letter.islower() else 0) + marks.count("'") - marks.count(",")
        upper = letter.upper()
        state = self._state()
        if accidental is not None:
            alter = _ALTER[accidental]
            state.accidentals[upper] = alter
        else:
            alter = state.accidentals.get(upper, self.key.get(upper, 0))
        midi = _BASE[upper] + 12 * octave + alter
        if midi not in MIDI_RANGE:
            self._fault(f"a note beyond the MIDI range: {note.group(0)[:16]}")
            return None
        return upper, octave, midi, accidental is not None

    def _length(self, text: str, pos: int) -> int:
        match = _LENGTH.match(text, pos)
        _numerator, slashes, denominator = match.groups()
        if len(slashes) > MAX_SLASHES or (len(slashes) > 1 and denominator) or (denominator and not int(denominator)):
            self._fault(f"an unreadable note length {text[pos:match.end()]}")
        return match.end()

    def _notes(self, pitches: list[tuple[str, int, int, bool]], tied: list) -> None:
        """One note or chord: resolve a waiting tie, count it in open slurs, start its tie."""
        state = self._state()
        if state.tie is not None:
            if not any(self._same(held, pitch, state.tie.crossed_bar) for held in state.tie.pitches
                       for pitch in pitches):
                self._fault(f"a tie between different pitches ({_name(state.tie.pitches)}-{_name(pitches)})")
        self._count_slur_note()
        state.tie = _Tie([(p[0], p[1], p[2]) for p in tied]) if tied else None
        self.last_onset = [pitch[2] for pitch in pitches]
        self._sounding()

    @staticmethod
    def _same(held: tuple[str, int, int], pitch: tuple[str, int, int, bool], crossed_bar: bool) -> bool:
        if crossed_bar and not pitch[3]:  # the tied note's accidental carries across the bar line
            return held[:2] == pitch[:2]
        return held[2] == pitch[2]

    def _count_slur_note(self) -> None:
        state = self._state()
        state.slurs = [count + 1 for count in state.slurs]

    def _bar_line(self) -> None:
        self.bar_lines += 1
        self.music_open = False
        state = self._state()
        state.accidentals.clear()
        if state.tie is not None:
            state.tie.crossed_bar = True


def _name(pitches: list) -> str:
    return "/".join(f"{p[0]}{p[1]:+d}" if p[1] else p[0] for p in pitches)
