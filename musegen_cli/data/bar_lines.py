"""Restoring bar lines that corpus ABC leaves implicit at line ends.

Essen-style transcriptions end a line at a phrase end and often write no bar line there even
when the bar is complete (`| d4d4` then a new line), so a reader sees one over-long bar. Such
a line end gets a `|` when the notes since the last bar line fill exactly one bar of the
meter. Durations are read by a small reader of the simple syntax these tunes use (notes,
rests, lengths, chords, broken rhythm, tuplets, grace notes, ties); anything it does not
understand leaves the tune untouched.
"""

from __future__ import annotations

import re
from fractions import Fraction

_NOTE = re.compile(r"(?:\^{1,2}|_{1,2}|=)?[A-Ga-g][,']*|[zx]")
_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_SKIP = re.compile(r'"[^"]*"|![^!]*!|\{[^}]*\}|\[[A-Za-z]:[^\]]*\]|[.~HLMOPSTuv()\-\s]')
_TUPLET = re.compile(r"\((\d)(?::(\d*))?(?::(\d*))?")
_TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}


def _length(text: str, pos: int) -> tuple[Fraction, int]:
    match = _LENGTH.match(text, pos)
    numerator, slashes, denominator = match.groups()
    value = Fraction(int(numerator) if numerator else 1)
    if slashes:
        value /= int(denominator) if denominator else 2 ** len(slashes)
    return value, match.end()


def segment_length(text: str) -> Fraction | None:
    """Total duration (in units of L:) of a bar fragment, or None if it holds anything unknown."""
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
            value = note_length * chord_length
        else:
            note = _NOTE.match(text, pos)
            if note is None:
                return None
            value, pos = _length(text, note.end())
        if tuplet_left:
            value *= tuplet_factor
            tuplet_left -= 1
        if broken is not None:
            value *= broken
            broken = None
        total += value
        last = value
    return total


def _meter_units(meter: str, unit: str) -> Fraction | None:
    meter = {"C": "4/4", "C|": "2/2"}.get(meter.strip(), meter.strip())
    if not re.fullmatch(r"\d+/\d+", meter) or not re.fullmatch(r"1/\d+", unit.strip()):
        return None
    return Fraction(meter) / Fraction(unit.strip())


def restore_line_end_bars(tune: str) -> str:
    """The tune with `|` added at line ends that close a complete bar (see module doc)."""
    fields = dict(re.findall(r"^([ML]):(.*)$", tune, re.MULTILINE))
    bar = _meter_units(fields.get("M", ""), fields.get("L", "1/8"))
    lines = tune.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
    if bar is None or start is None or "V:" in tune or "[M:" in tune or "[L:" in tune:
        return tune
    for i in range(start + 1, len(lines)):
        line = lines[i].rstrip()
        if not line or re.search(r"[|\]:]$", line):
            continue
        pieces = re.split(r"\|+|:\||\|:|::", line)
        tail = pieces[-1]
        length = segment_length(tail)
        if length is None:
            return tune
        opening_pickup = i == start + 1 and len(pieces) == 1
        if length == bar and not opening_pickup:
            lines[i] = line + " |"
    return "\n".join(lines)
