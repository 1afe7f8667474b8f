"""Values of ABC information fields: meter (`M:`), unit length (`L:`), key (`K:`), tempo
(`Q:`) and play order (`P:`), read as the ABC 2.1 standard defines them.

- `M:C` is 4/4, `M:C|` 2/2, `M:2+3/8` 5/8, `M:none` no meter.
- With no `L:`, the unit is 1/16 when the meter is below 3/4 and 1/8 otherwise.
- `K:` is a tonic and a mode matched on its first three letters (`Dmix`, `F#m`, `C dorian`,
  `EM` is E minor), then optional accidentals that change the signature (`K:D ^g`, or
  `K:D exp _b ^c` for exactly those), then clef words, of which only `octave=N` changes
  what sounds. `K:none`, `K:` and `K:HP` have no signature; `K:Hp` is the bagpipe F# C#.
- `Q:3/8=80` is 80 x 3/8 x 4 = 120 quarter notes per minute; the legacy bare `Q:120`
  counts unit lengths.
- `P:A2(BC)2` plays A A B C B C; dots and spaces only separate; a `P:` with other text
  is a description, not a play order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from musegen_cli.notation.abc.modes import MODE_FIFTHS, canonical_mode

_MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
_SHARP_ORDER = "FCGDAEB"
_ACCIDENTAL = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
_KEY_ACCIDENTAL = re.compile(r"(\^\^|\^|__|_|=)([A-Ga-g])$")
_TONIC = re.compile(r"([A-G])([#b]?)")
#: Words that may follow the tonic in K: without being a mode (clefs and key modifiers).
_NOT_MODES = {"exp", "bass", "treble", "alto", "tenor", "baritone", "perc", "none", "clef"}
_FRACTION = re.compile(r"(\d+)\s*/\s*(\d+)")


def meter_value(text: str | None) -> Fraction | None:
    """The length of a bar in whole notes; None for `none` or text that is no meter."""
    if not text:
        return None
    value = text.strip()
    if value in ("C", "C|"):
        return Fraction(1)
    match = re.fullmatch(r"\(?([\d+\s]+)\)?\s*/\s*(\d+)", value)
    if not match or not int(match.group(2)):
        return None
    numerator = sum(int(part) for part in match.group(1).split("+") if part.strip())
    return Fraction(numerator, int(match.group(2))) if numerator else None


def is_compound(text: str | None) -> bool:
    """Whether a meter is compound (6/8, 9/8, 12/8: beats of three), as tuplets need."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    return bool(match) and int(match.group(1)) % 3 == 0 and int(match.group(1)) > 3


def unit_length(length: str | None, meter: str | None) -> Fraction:
    """`L:` when it is a fraction, else the standard's default for the meter."""
    if length:
        match = _FRACTION.search(length)
        if match and int(match.group(2)) and int(match.group(1)):
            return Fraction(int(match.group(1)), int(match.group(2)))
    value = meter_value(meter)
    return Fraction(1, 16) if value is not None and value < Fraction(3, 4) else Fraction(1, 8)


@dataclass(frozen=True)
class Key:
    """A `K:` value read: its tonic and mode (None for `K:none`), the alteration of each
    letter it implies, the octave shift its `octave=` gives and the playback transposition
    (semitones) its `transpose=` gives."""

    tonic: str | None
    mode: str | None
    signature: dict[str, int]
    octave: int = 0
    transpose: int = 0
    #: Whether a mode word was written (`K:G` is G major by default, naming no mode).
    mode_stated: bool = False
    #: A word in the mode's place that names no mode (`K:Bn`): the signature is major's.
    unknown_mode: str | None = None


def read_key(text: str) -> Key:
    """Read a `K:` value (see the module docstring). Unknown words are left alone, as
    readers do with clef and display options."""
    words = text.split()
    shifts = {"octave": 0, "transpose": 0}
    kept = []
    for word in words:
        name, equals, value = word.partition("=")
        if equals:
            if name.lower() in shifts and re.fullmatch(r"[+-]?\d+", value):
                shifts[name.lower()] = int(value)
            continue
        kept.append(word)
    tonic, mode, signature = None, None, {}
    stated, unknown = False, None
    rest = kept
    if kept and kept[0] in ("HP", "Hp"):
        signature = {} if kept[0] == "HP" else {"F": 1, "C": 1}
        rest = kept[1:]
    elif kept and kept[0].lower() != "none":
        match = _TONIC.match(kept[0])
        if match:
            tonic = match.group(1) + match.group(2)
            tail = kept[0][match.end():]
            rest = ([tail] if tail else []) + kept[1:]
            mode = "major"
            word = re.sub(r"[^A-Za-z].*", "", rest[0]) if rest and not _KEY_ACCIDENTAL.match(rest[0]) else ""
            if word and word.lower() not in _NOT_MODES:
                found = canonical_mode(word)
                mode, stated = found or mode, found is not None
                unknown = None if found else word
                rest = rest[1:]
            signature = signature_of(tonic, mode)
    if rest and rest[0].lower() == "exp":
        signature = {}
        rest = rest[1:]
    for word in rest:
        match = _KEY_ACCIDENTAL.match(word)
        if match:
            signature = {**signature, match.group(2).upper(): _ACCIDENTAL[match.group(1)]}
    signature = {letter: alter for letter, alter in signature.items() if alter}
    return Key(tonic, mode, signature, shifts["octave"], shifts["transpose"], stated, unknown)


def signature_of(tonic: str, mode: str) -> dict[str, int]:
    """The alteration of each letter in the key of `tonic` (`F#`, `Bb`) and `mode`."""
    fifths = _MAJOR_FIFTHS[tonic[0]] + 7 * (1 if tonic[1:] == "#" else -1 if tonic[1:] == "b" else 0)
    fifths += MODE_FIFTHS[mode]
    signature = {}
    for index in range(abs(fifths)):
        if fifths > 0:
            letter = _SHARP_ORDER[index % 7]
            signature[letter] = signature.get(letter, 0) + 1
        else:
            letter = _SHARP_ORDER[6 - index % 7]
            signature[letter] = signature.get(letter, 0) - 1
    return signature


def read_tempo(text: str, unit: Fraction = Fraction(1, 8)) -> float | None:
    """Quarter notes per minute of a `Q:` value; None when it gives no number."""
    value = re.sub(r'"[^"]*"', " ", text).strip()
    beats, equals, rate = value.rpartition("=")
    if not equals:
        beat = unit  # legacy `Q:120`: beats of the unit note length
        rate = value
    else:
        fractions = _FRACTION.findall(beats)
        legacy = re.fullmatch(r"\s*C(\d*)\s*", beats)  # ABC 1.6 `Q:C=120`, `Q:C2=120`
        if fractions:
            beat = sum((Fraction(int(n), int(d)) for n, d in fractions if int(d)), Fraction(0))
        elif legacy:
            beat = unit * int(legacy.group(1) or 1)
        else:
            return None
    number = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*", rate)
    if not number or float(number.group(1)) <= 0 or beat <= 0:
        return None
    return float(number.group(1)) * float(beat) * 4


def read_play_order(text: str) -> list[str]:
    """Expand a header `P:` value into the sequence of part labels (capital letters) it
    plays. A value with anything else in it (`P:AABA last time`, `P:A(ABB) times 4`) is a
    description, not a play order, and gives none: the tune is played as written, as
    abc2midi plays it. A comment is not part of it; `+` and `-` (ABC 1.6's additive marks,
    which abc2midi skips) are skipped."""
    text = text.split("%", 1)[0]
    if not re.fullmatch(r"[A-Z0-9().+\-\s]*", text):
        return []
    order, _ = _play_sequence(re.sub(r"[.+\-\s]", "", text), 0)
    return order


def _play_sequence(text: str, position: int) -> tuple[list[str], int]:
    sequence: list[str] = []
    while position < len(text):
        char = text[position]
        if char == ")":
            return sequence, position + 1
        if char == "(":
            group, position = _play_sequence(text, position + 1)
        elif char.isalpha():
            group, position = [char], position + 1
        else:
            position += 1
            continue
        digits = re.match(r"\d*", text[position:]).group(0)
        position += len(digits)
        sequence.extend(group * (int(digits) if digits else 1))
    return sequence, position
