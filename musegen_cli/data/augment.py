"""Data augmentation on clean ABC text: the parallel minor of a major tune, and transposition.

Both rewrite the ABC text note by note, so everything that is not a pitch (lengths, bar
lines, ties, slurs, tuplets, grace groups, inline fields, comments, spacing) survives byte
for byte. Pure Python; music21 is used only by the `verify_*` checks.

How a tune's pitches are read (ABC 2.1): a note sounds its explicit accidental (`^^ ^ = _
__`), else the accidental carried from an earlier note of the same letter *and octave* in the
same bar of the same voice, else the key signature. Bar lines (`|`, `:`, `[|`) end carried
accidentals; `K:` lines and inline `[K:...]` fields change the key of the current voice;
`V:` lines and inline `[V:...]` fields switch voice (each voice has its own key and carries).

How pitches are written: a note written with an accidental keeps one (the new alteration);
a note written without one stays bare when the new key signature gives the new pitch and no
other accidental is carried to it, or when the source itself relied on a carried accidental
that the rewrite carries the same way; otherwise it gets an explicit accidental. So a reader
that carries accidentals through the bar (ABC 2.1, abcm2ps) and one that does not (music21's
default, ABC 1.x) both read the rewrite as the same transformation of what they read in the
source. `verify_parallel_minor` and `verify_transposition` check exactly that with music21,
under both readings.

**Parallel minor** (`to_parallel_minor`): a tune whose opening key is major-like (major, a
bare tonic, mixolydian, lydian) moves to the *aeolian* (natural) minor on the same tonic:
`K:G` becomes `K:Gm`, and every note on a degree where the source mode and aeolian differ
is lowered a semitone: degrees 3, 6, 7 from major (B, E, F# -> Bb, Eb, F in G), 3 and 6
from mixolydian, 3, 4, 6, 7 from lydian. Chromatic notes (pitch classes outside the source
scale) are left as they are. Aeolian, not harmonic minor: the folk tunes this is made for
are modal (their own minor tunes are mostly aeolian and dorian), a raised seventh "at
cadences" would need a cadence finder we do not have, and `K:Xm` then holds every scale
note, so the rewrite needs no accidentals beyond those of the source. Key sections that are
already minor-like (an inline `[K:Em]` in a major tune) are left unchanged; a section in
another major-like key gets its own parallel minor. Chord symbols follow the notes: a chord
on a scale degree gets the root of the minor scale's degree and its diatonic quality (C,
F, G7 in C major -> Cm, Fm, Gm7; Am -> Ab, Em -> Eb, G/B -> Gm/Bb); `aug`/`sus`/`add`
chords keep their quality word with the new root; chords on chromatic roots (a secondary
dominant D7 in C) are kept as written. A tune is refused (None) when its opening key is not
major-like or has no tonic (`K:none`, `K:HP`), names extra accidentals (`K:D =c`), or its
minor needs more than 7 flats (Db, Gb, Cb major: respell as C#, F#, B first).

**Transposition** (`transpose`): every key moves by the same number of semitones, spelled
with the fewest accidentals (F# against Gb: sharps when moving up, flats when moving down);
notes move by the diatonic step between old and new tonic letters, with the alteration that
gives the exact new pitch (a note needing more than a double sharp or flat refuses the tune),
and octave marks (`,` `'`, letter case) are rewritten. Chord symbol roots and basses move the
same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from musegen_cli.notation.abc.modes import (
    ABC_MODE_WORDS,
    MAJOR_LIKE,
    MODE_FIFTHS,
    canonical_mode,
)
from musegen_cli.notation.abc.text import FIELD_LINE, INLINE_FIELD

if TYPE_CHECKING:
    from musegen_cli.notation.fidelity import Comparison

_LETTERS = "CDEFGAB"
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
_SHARP_ORDER = "FCGDAEB"
#: Semitones of each degree above the tonic.
_MODE_STEPS = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}
#: Triad and seventh chord qualities on each degree of the natural minor, as chord-symbol suffixes.
_MINOR_TRIADS = ("m", "dim", "", "m", "m", "", "")
_MINOR_SEVENTHS = ("m7", "m7b5", "maj7", "m7", "m7", "maj7", "7")
_ACCIDENTAL_ALTER = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
_ALTER_ACCIDENTAL = {value: text for text, value in _ACCIDENTAL_ALTER.items()}
_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)")
_KEY = re.compile(r"^\s*([A-G])([#b]?)(.*)$", re.DOTALL)
_KEY_ACCIDENTALS = re.compile(r"(?:^|\s)(?:\^\^|\^|__|_|=)[A-Ga-g]")
_CHORD = re.compile(r"^([A-G])([#b]{0,2})(maj|min|dim|aug|sus|add|m|M)?([0-9]*)(?:/([A-G])([#b]{0,2}))?$")
#: Words after the tonic in K: that are not modes (clefs, `exp`, octave settings).
_NOT_MODES = {"exp", "bass", "treble", "alto", "tenor", "baritone", "perc", "none", "clef", "octave", "middle", "transpose"}
#: Header lines that make music21 read a tune as ABC 2.1 with accidentals carried per octave.
CARRYING_READING = "%abc-2.1\n%%propagate-accidentals octave\n"


class Refused(Exception):
    """The tune cannot be rewritten (the public functions return None)."""


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class Key:
    """A key as written in K:: tonic letter and alteration, canonical mode, and the rest of
    the field kept verbatim (clef and octave settings)."""

    letter: str
    alter: int
    mode: str
    rest: str = ""

    @property
    def fifths(self) -> int:
        return _LETTER_FIFTHS[self.letter] + 7 * self.alter + MODE_FIFTHS[self.mode]

    @property
    def tonic_pc(self) -> int:
        return (_LETTER_PC[self.letter] + self.alter) % 12

    def signature(self) -> dict[str, int]:
        """Alteration of each letter under this key signature."""
        fifths = self.fifths
        sig = dict.fromkeys(_LETTERS, 0)
        letters = _SHARP_ORDER if fifths > 0 else _SHARP_ORDER[::-1]
        for index in range(abs(fifths)):
            sig[letters[index % 7]] += 1 if fifths > 0 else -1
        return sig

    def text(self) -> str:
        tonic = self.letter + ("#" * self.alter if self.alter > 0 else "b" * -self.alter)
        return tonic + ABC_MODE_WORDS[self.mode] + self.rest


def parse_key(value: str) -> Key:
    """Read a K: value; Refused for keys without a tonic or with explicit accidentals."""
    match = _KEY.match(value)
    if not match or value.strip().startswith("H"):
        raise Refused(f"key {value.strip()!r} has no tonic")
    letter, sign, rest = match.groups()
    alter = {"#": 1, "b": -1, "": 0}[sign]
    word_match = re.match(r"\s*([A-Za-z]+)", rest)
    mode = "major"
    if word_match and "=" not in rest[: word_match.end() + 1] and word_match.group(1).lower() not in _NOT_MODES:
        found = canonical_mode(word_match.group(1))
        if found is None:
            raise Refused(f"unknown mode in key {value.strip()!r}")
        mode, rest = found, rest[word_match.end() :]
    if _KEY_ACCIDENTALS.search(rest) or re.search(r"\bexp\b", rest):
        raise Refused(f"key {value.strip()!r} names its own accidentals")
    if abs(_LETTER_FIFTHS[letter] + 7 * alter + MODE_FIFTHS[mode]) > 7:
        raise Refused(f"key {value.strip()!r} has more than 7 sharps or flats")
    return Key(letter, alter, mode, rest.rstrip())


def _spell_key(pc: int, mode: str, upward: bool, rest: str) -> Key:
    """The spelling of a tonic pitch class with the fewest accidentals in its signature."""
    options = []
    for letter in _LETTERS:
        for alter in (-1, 0, 1):
            if (_LETTER_PC[letter] + alter) % 12 == pc:
                key = Key(letter, alter, mode, rest)
                options.append((abs(key.fifths), -key.fifths if upward else key.fifths, key))
    best = min(options, key=lambda o: (o[0], o[1]))
    if best[0] > 7:
        raise Refused("no key signature for the transposed key")
    return best[2]


# --------------------------------------------------------------------------- note maps


@dataclass(frozen=True)
class _Section:
    """What happens to notes under one source key: the written target key and the map
    from (letter, octave, alteration) to the same triple in the target."""

    source: Key
    target: Key
    note: Callable[[str, int, int], tuple[str, int, int]]
    chord: Callable[[str], str]


def _spelled(letter: str, alter: int) -> str:
    return letter + ("#" * alter if alter > 0 else "b" * -alter)


def _minor_section(key: Key) -> _Section:
    if key.mode not in MAJOR_LIKE:
        return _Section(key, key, lambda letter, octave, alter: (letter, octave, alter), lambda symbol: symbol)
    target = replace(key, mode="minor")
    if abs(target.fifths) > 7:
        raise Refused(f"the parallel minor of {key.text()} needs more than 7 flats")
    source_steps, minor_steps = _MODE_STEPS[key.mode], _MODE_STEPS["minor"]
    lowered = {s for s, m in zip(source_steps, minor_steps) if s != m}
    tonic = key.tonic_pc

    def note(letter: str, octave: int, alter: int) -> tuple[str, int, int]:
        if (_LETTER_PC[letter] + alter - tonic) % 12 in lowered:
            return letter, octave, alter - 1
        return letter, octave, alter

    def chord(symbol: str) -> str:
        match = _CHORD.match(symbol.strip())
        if not match:
            return symbol
        root, sign, quality, digits, bass, bass_sign = match.groups()
        root_alter = sign.count("#") - sign.count("b")
        relative = (_LETTER_PC[root] + root_alter - tonic) % 12
        if relative not in source_steps:
            return symbol  # a chromatic chord (secondary dominant): kept
        degree = source_steps.index(relative)
        new_root = _spelled(root, root_alter - (relative in lowered))
        if quality in ("aug", "sus", "add"):
            suffix = quality + digits
        elif digits == "7":
            suffix = _MINOR_SEVENTHS[degree]
        else:
            suffix = _MINOR_TRIADS[degree] + digits
        if bass:
            bass_alter = bass_sign.count("#") - bass_sign.count("b")
            bass_relative = (_LETTER_PC[bass] + bass_alter - tonic) % 12
            suffix += "/" + _spelled(bass, bass_alter - (bass_relative in lowered))
        return new_root + suffix

    return _Section(key, target, note, chord)


def _transposed_section(key: Key, semitones: int) -> _Section:
    target = _spell_key((key.tonic_pc + semitones) % 12, key.mode, semitones >= 0, key.rest)
    letter_step = (_LETTERS.index(target.letter) - _LETTERS.index(key.letter)) % 7
    # The diatonic step nearest the interval: +3 semitones is a third up, not a sixth down.
    step = min((letter_step, letter_step - 7, letter_step + 7), key=lambda s: abs(s - semitones * 7 / 12))

    def note(letter: str, octave: int, alter: int) -> tuple[str, int, int]:
        position = octave * 7 + _LETTERS.index(letter) + step
        new_octave, index = divmod(position, 7)
        new_letter = _LETTERS[index]
        midi = 12 * octave + _LETTER_PC[letter] + alter + semitones
        new_alter = midi - (12 * new_octave + _LETTER_PC[new_letter])
        if abs(new_alter) > 2:
            raise Refused("a note would need more than a double accidental")
        return new_letter, new_octave, new_alter

    def spell(letter: str, sign: str) -> str:
        new_letter, _octave, new_alter = note(letter, 4, sign.count("#") - sign.count("b"))
        return _spelled(new_letter, new_alter)

    def chord(symbol: str) -> str:
        match = _CHORD.match(symbol.strip())
        if not match:
            return symbol
        root, sign, quality, digits, bass, bass_sign = match.groups()
        text = spell(root, sign) + (quality or "") + digits
        return text + ("/" + spell(bass, bass_sign) if bass else "")

    return _Section(key, target, note, chord)


# --------------------------------------------------------------------------- the rewriter


@dataclass
class _VoiceState:
    section: _Section
    carried_source: dict[tuple[str, int], int] = field(default_factory=dict)
    carried_target: dict[tuple[str, int], int] = field(default_factory=dict)

    def new_bar(self) -> None:
        self.carried_source.clear()
        self.carried_target.clear()


@dataclass
class RewriteStats:
    """What a rewrite did: notes read, notes whose pitch changed, chord symbols changed."""

    notes: int = 0
    changed: int = 0
    chords_changed: int = 0
    key_sections: int = 0


class _Rewriter:
    def __init__(self, make_section: Callable[[Key], _Section]):
        self.make_section = make_section
        self.header_section: _Section | None = None
        self.voices: dict[str, _VoiceState] = {}
        self.voice = ""
        self.stats = RewriteStats()

    @property
    def state(self) -> _VoiceState:
        if self.voice not in self.voices:
            assert self.header_section is not None
            self.voices[self.voice] = _VoiceState(self.header_section)
        return self.voices[self.voice]

    def key(self, value: str) -> str:
        """Rewrite a K: value and make it the current voice's key."""
        section = self.make_section(parse_key(value))
        self.stats.key_sections += 1
        if self.header_section is None:
            self.header_section = section
        else:
            self.state.section = section
            self.state.new_bar()
        return section.target.text()

    def switch_voice(self, value: str) -> None:
        parts = value.split()
        self.voice = parts[0] if parts else ""

    def rewrite(self, tune: str) -> str:
        lines = tune.split("\n")
        out = []
        in_header = True
        for line in lines:
            match = FIELD_LINE.match(line)
            if match and not line.startswith("|"):
                name, value = match.groups()
                if name == "K":
                    out.append("K:" + self.key(value))
                    in_header = False
                    continue
                if name == "V" and not in_header:
                    self.switch_voice(value)
                out.append(line)
                continue
            if in_header or line.startswith("%"):
                out.append(line)
                continue
            out.append(self.body_line(line))
        if self.header_section is None:
            raise Refused("the tune has no K: field")
        return "\n".join(out)

    def body_line(self, line: str) -> str:
        out: list[str] = []
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if c == "%":
                out.append(line[i:])
                break
            if c == '"':
                end = line.find('"', i + 1)
                if end < 0:
                    out.append(line[i:])
                    break
                symbol = line[i + 1 : end]
                new = symbol if symbol[:1] in "^_<>@" else self.state.section.chord(symbol)
                self.stats.chords_changed += new != symbol
                out.append(f'"{new}"')
                i = end + 1
                continue
            if c in "!+":
                end = line.find(c, i + 1)
                end = i if end < 0 else end
                out.append(line[i : end + 1])
                i = end + 1
                continue
            if c == "[":
                field_match = INLINE_FIELD.match(line, i)
                if field_match:
                    name, value = field_match.groups()
                    if name == "K":
                        out.append(f"[K:{self.key(value)}]")
                    else:
                        if name == "V":
                            self.switch_voice(value)
                        out.append(field_match.group(0))
                    i = field_match.end()
                    continue
                if line.startswith("[|", i):
                    self.state.new_bar()
                out.append(c)
                i += 1
                continue
            if c in "|:":
                self.state.new_bar()
                out.append(c)
                i += 1
                continue
            note = _NOTE.match(line, i)
            if note:
                out.append(self.note(*note.groups()))
                i = note.end()
                continue
            out.append(c)
            i += 1
        return "".join(out)

    def note(self, accidental: str | None, letter_text: str, marks: str) -> str:
        state = self.state
        section = state.section
        letter = letter_text.upper()
        octave = (4 if letter_text.isupper() else 5) + marks.count("'") - marks.count(",")
        place = (letter, octave)
        relied = False
        if accidental:
            alter = _ACCIDENTAL_ALTER[accidental]
            state.carried_source[place] = alter
        elif place in state.carried_source:
            alter, relied = state.carried_source[place], True
        else:
            alter = section.source.signature()[letter]
        new_letter, new_octave, new_alter = section.note(letter, octave, alter)
        self.stats.notes += 1
        moved = (new_letter, new_octave, new_alter) != (letter, octave, alter)
        pitch_changed = _LETTER_PC[new_letter] + new_alter + 12 * new_octave != _LETTER_PC[letter] + alter + 12 * octave
        self.stats.changed += pitch_changed
        target_place = (new_letter, new_octave)
        signature = section.target.signature()[new_letter]
        carried = state.carried_target.get(target_place)
        if accidental or abs(new_alter) == 2:
            write = True  # music21 does not carry double accidentals reliably
        elif new_alter == signature and carried in (None, new_alter):
            write = False
        else:
            write = not (relied and carried == new_alter)
        prefix = ""
        if write:
            if abs(new_alter) > 2:
                raise Refused("a note would need more than a double accidental")
            prefix = _ALTER_ACCIDENTAL[new_alter]
            state.carried_target[target_place] = new_alter
        if not moved or (new_letter, new_octave) == (letter, octave):
            return prefix + letter_text + marks
        return prefix + _note_text(new_letter, new_octave)


def _note_text(letter: str, octave: int) -> str:
    if octave >= 5:
        return letter.lower() + "'" * (octave - 5)
    return letter + "," * (4 - octave)


def _apply(tune: str, make_section: Callable[[Key], _Section]) -> tuple[str, RewriteStats] | None:
    rewriter = _Rewriter(make_section)
    try:
        text = rewriter.rewrite(tune)
    except Refused:
        return None
    return text, rewriter.stats


# --------------------------------------------------------------------------- public API


def opening_key(tune: str) -> Key | None:
    """The first K: of a tune, or None when it has none or one the rewriters refuse."""
    match = re.search(r"^K:(.*)$", tune, re.MULTILINE)
    if not match:
        return None
    try:
        return parse_key(match.group(1))
    except Refused:
        return None


def parallel_minor_with_stats(clean_abc: str) -> tuple[str, RewriteStats] | None:
    """`to_parallel_minor` and what it changed."""
    key = opening_key(clean_abc)
    if key is None or key.mode not in MAJOR_LIKE:
        return None
    return _apply(clean_abc, _minor_section)


def to_parallel_minor(clean_abc: str) -> str | None:
    """The tune in the aeolian minor of its tonic (module docstring), or None when its
    opening key is not major-like or cannot be rewritten."""
    result = parallel_minor_with_stats(clean_abc)
    return result[0] if result else None


def transpose(clean_abc: str, semitones: int) -> str | None:
    """The tune moved by `semitones` (module docstring), or None when it cannot be."""
    if semitones == 0:
        return clean_abc
    result = _apply(clean_abc, lambda key: _transposed_section(key, semitones))
    return result[0] if result else None


# --------------------------------------------------------------------------- verification


def _events(text: str, carrying: bool) -> list:
    from musegen_cli.notation.fidelity import score_events
    from musegen_cli.notation.formats import parse_score

    if carrying:
        text = re.sub(r"^(X:.*\n)", lambda m: m.group(1) + CARRYING_READING, text, count=1, flags=re.MULTILINE)
    return score_events(parse_score(text.encode("utf-8"), "abc"))


def verify_mapping(
    source: str, result: str, expected: Callable[[int], int | tuple[int, ...]], *, readings: tuple[bool, ...] = (False, True)
) -> Comparison:
    """Whether music21 reads `result` as `source` with every MIDI pitch p replaced by
    `expected(p)` (one pitch, or any of a tuple of allowed pitches), onsets and durations
    unchanged, under each reading: `False` is music21's default (no carried accidentals),
    `True` ABC 2.1 with accidentals carried per octave."""
    from musegen_cli.errors import UserError
    from musegen_cli.notation.fidelity import Comparison

    for carrying in readings:
        reading = "carrying" if carrying else "default"
        try:
            want, got = _events(source, carrying), _events(result, carrying)
        except UserError as exc:
            return Comparison(False, f"{reading} reading: {exc}")
        if len(want) != len(got):
            return Comparison(False, f"{reading} reading: {len(want)} parts, got {len(got)}")
        for part, (a, b) in enumerate(zip(want, got), 1):
            if len(a) != len(b):
                return Comparison(False, f"{reading} reading, part {part}: {len(a)} events, got {len(b)}")
            for position, ((onset, length, pitches), (onset2, length2, pitches2)) in enumerate(zip(a, b)):
                allowed = [expected(p) for p in pitches]
                ok = (onset, length) == (onset2, length2) and len(pitches) == len(pitches2)
                ok = ok and all(q in (e if isinstance(e, tuple) else (e,)) for q, e in zip(sorted(pitches2), sorted(allowed, key=lambda e: e if isinstance(e, int) else e[0])))
                if not ok:
                    return Comparison(
                        False,
                        f"{reading} reading, part {part}, event {position}: {list(pitches)} at {onset} for {length} "
                        f"became {list(pitches2)} at {onset2} for {length2}",
                    )
    return Comparison(True)


def minor_mapping(key: Key) -> Callable[[int], int]:
    """MIDI pitch -> pitch in the parallel (aeolian) minor of a major-like `key`."""
    lowered = {s for s, m in zip(_MODE_STEPS[key.mode], _MODE_STEPS["minor"]) if s != m}
    tonic = key.tonic_pc
    return lambda p: p - 1 if (p - tonic) % 12 in lowered else p


def verify_parallel_minor(source: str, result: str, **options) -> Comparison:
    """Check `result` is the parallel minor of `source` (see `verify_mapping`). With one key
    the map is exact; with key changes each pitch may be lowered a semitone or kept."""
    key = opening_key(source)
    assert key is not None
    body = source.split("\n", 1)[1] if "\n" in source else ""
    key_changes = len(re.findall(r"^K:|\[K:", body, re.MULTILINE)) > 1
    mapping = (lambda p: (p, p - 1)) if key_changes else minor_mapping(key)
    return verify_mapping(source, result, mapping, **options)


def verify_transposition(source: str, result: str, semitones: int, **options) -> Comparison:
    """Check `result` is `source` moved by `semitones` (see `verify_mapping`)."""
    return verify_mapping(source, result, lambda p: p + semitones, **options)
