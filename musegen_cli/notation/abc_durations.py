"""Durations of ABC bar fragments, read from the text alone.

A small reader of the syntax bars are made of (notes, rests, lengths, chords, broken rhythm,
tuplets, grace notes, ties, slurs, decorations, chord symbols, inline fields, and the
backquotes ABC 2.1 ignores). It answers None for
anything it does not understand, so callers can leave such music alone rather than guess.
"""

from __future__ import annotations

import re
from fractions import Fraction

_NOTE = re.compile(r"(?:\^{1,2}|_{1,2}|=)?[A-Ga-g][,']*|[zx]")
_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_SKIP = re.compile(r'"[^"]*"|![^!]*!|\{[^}]*\}|\[[A-Za-z]:[^\]]*\]|[.~HLMOPSTuv()\-`\s]')
_TUPLET = re.compile(r"\((\d)(?::(\d*))?(?::(\d*))?")
_TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}


#: More slashes than this (`A////`), several followed by a number (`A//2`), or a zero
#: denominator (`A/0`) is a length music21's reader rejects, so it counts as not understood.
MAX_SLASHES = 3


def _length(text: str, pos: int) -> tuple[Fraction | None, int]:
    match = _LENGTH.match(text, pos)
    numerator, slashes, denominator = match.groups()
    if len(slashes) > MAX_SLASHES or (len(slashes) > 1 and denominator) or (denominator and not int(denominator)):
        return None, match.end()
    value = Fraction(int(numerator) if numerator else 1)
    if slashes:
        value /= int(denominator) if denominator else 2 ** len(slashes)
    return value, match.end()


def segment_length(text: str, whole_bar: bool = False) -> Fraction | None:
    """Total duration (in units of L:) of a bar fragment, or None if it holds anything unknown.

    With ``whole_bar``, a tuplet the fragment leaves unfinished (`(3e |`) also makes it
    unreadable: music21 carries the tuplet on into the next bar's notes."""
    total = Fraction(0)
    pos = 0
    tuplet_left, tuplet_factor = 0, Fraction(1)
    broken: Fraction | None = None  # factor for the next note after `>` or `<`
    last: Fraction | None = None  # the previous note's counted length (broken rhythm edits it)
    while pos < len(text):
        tuplet = _TUPLET.match(text, pos)
        if tuplet:
            p = int(tuplet.group(1))
            q = int(tuplet.group(2)) if tuplet.group(2) else _TUPLET_Q.get(p)
            if q is None:
                return None
            tuplet_left, tuplet_factor = int(tuplet.group(3) or p), Fraction(q, p)
            pos = tuplet.end()
            continue
        skip = _SKIP.match(text, pos)
        if skip:
            pos = skip.end()
            continue
        if text[pos] in "<>":
            run = len(text[pos:]) - len(text[pos:].lstrip(text[pos]))
            factor = Fraction(1, 2**run)
            if last is None:
                return None
            first, second = (2 - factor, factor) if text[pos] == ">" else (factor, 2 - factor)
            total += last * (first - 1)
            broken, pos = second, pos + run
            continue
        if text[pos] == "[":
            close = text.find("]", pos)
            if close < 0:
                return None
            inner = _NOTE.match(text, pos + 1)
            if inner is None:
                return None
            note_length, _ = _length(text, inner.end())
            chord_length, pos = _length(text, close + 1)
            if note_length is None or chord_length is None:
                return None
            value = note_length * chord_length
        else:
            note = _NOTE.match(text, pos)
            if note is None:
                return None
            value, pos = _length(text, note.end())
            if value is None:
                return None
        if tuplet_left:
            value *= tuplet_factor
            tuplet_left -= 1
        if broken is not None:
            value *= broken
            broken = None
        total += value
        last = value
    return None if whole_bar and tuplet_left else total


def meter_units(meter: str, unit: str) -> Fraction | None:
    """Units of L: in one bar of the meter (`C` is 4/4, `C|` 2/2); None for free meter."""
    meter = {"C": "4/4", "C|": "2/2"}.get(meter.strip(), meter.strip())
    if not re.fullmatch(r"\d+/\d+", meter) or not re.fullmatch(r"1/\d+", unit.strip()):
        return None
    return Fraction(meter) / Fraction(unit.strip())
