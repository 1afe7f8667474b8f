"""ABC rules, one minimal tune each (tests/data/abc_rules/), against notes written by hand.

Each tune file starts with `%` lines: `% rule:` what it shows, `% standard:` where ABC 2.1
says so, and `% expect:` the notes it plays, in order, as `PITCH LENGTH` separated by commas:
a pitch name with its octave (C4 is middle C; # and b for sharp and flat), `z` for a rest,
`[C4 E4 G4]` for a chord, and the length in quarter notes (`1`, `1/2`, `3/2`). Several
`% expect:` lines continue each other; a tune with voices has `% expect V:1:` lines per
voice, each voice starting at 0. A tune abc2midi plays otherwise says so on a line
`% abc2midi differs: why`; the standard decides those (see each file).

Checked here: musegen plays the expected notes and leaves none sounding, and writes
MusicXML; abc2midi (when installed) plays the expected notes, so the hand-written
expectations agree with the reference tool; and musegen plays what abc2midi plays.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from benchmarks.abc_reference import (
    Note,
    abc2midi_midi,
    find_abc2midi,
    first_difference,
    hanging_notes,
    in_order,
    melody_only,
    midi_notes,
)
from musegen_cli.notation.conversion import convert

RULES = sorted((Path(__file__).resolve().parents[1] / "data" / "abc_rules").glob("*.abc"))
_EXPECT = re.compile(r"^% expect(?: V:(\S+))?:(.*)$")
_EVENT = re.compile(r"^(\[[^\]]+\]|\S+)\s+(\S+)$")
_PITCH = re.compile(r"^([A-G])(#{1,2}|b{1,2})?(-?\d+)$")
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class Rule:
    name: str
    text: str
    expected: list[Note]
    abc2midi_differs: str | None


def pitch_number(name: str) -> int:
    """MIDI number of a pitch name such as C4 (60), F#3 or Bb5."""
    match = _PITCH.match(name)
    if not match:
        raise ValueError(f"not a pitch name: {name!r}")
    letter, accidental, octave = match.groups()
    alter = (accidental or "").count("#") - (accidental or "").count("b")
    return 12 * (int(octave) + 1) + _STEPS[letter] + alter


def expected_notes(events: list[str]) -> list[Note]:
    """The notes of one voice's `% expect:` events, starting at 0."""
    notes, onset = [], Fraction(0)
    for event in events:
        match = _EVENT.match(event.strip())
        if not match:
            raise ValueError(f"not PITCH LENGTH: {event!r}")
        what, length = match.group(1), Fraction(match.group(2))
        if what != "z":
            for name in what.strip("[]").split():
                notes.append(Note(float(onset), pitch_number(name), float(length)))
        onset += length
    return notes


@functools.cache
def read_rule(path: Path) -> Rule:
    text = path.read_text(encoding="utf-8")
    voices: dict[str, list[str]] = {}
    differs = None
    for line in text.split("\n"):
        if match := _EXPECT.match(line):
            voices.setdefault(match.group(1) or "", []).extend(match.group(2).split(","))
        elif line.startswith("% abc2midi differs:"):
            differs = line.split(":", 1)[1].strip()
    if not voices:
        raise ValueError(f"{path.name} has no '% expect:' line")
    expected = in_order([note for events in voices.values() for note in expected_notes(events)])
    return Rule(path.stem, text, expected, differs)


@functools.cache
def musegen_midi(path: Path) -> bytes:
    pieces = convert(read_rule(path).text.encode("utf-8"), "abc", "midi")
    assert len(pieces) == 1, f"{len(pieces)} pieces from one tune"
    assert pieces[0].error is None, pieces[0].error
    return pieces[0].outputs[0]


def abc2midi_notes(path: Path) -> list[Note]:
    program = find_abc2midi()
    if program is None:
        pytest.skip("abc2midi is not installed (apt-get install abcmidi)")
    return midi_notes(abc2midi_midi(melody_only(read_rule(path).text), program))


def test_the_rule_folder_is_there() -> None:
    assert len(RULES) >= 40
    assert all(read_rule(path).expected for path in RULES)


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_musegen_plays_the_expected_notes(path: Path) -> None:
    difference = first_difference(read_rule(path).expected, midi_notes(musegen_midi(path)))
    assert difference is None, difference.describe()


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_musegen_leaves_no_note_sounding(path: Path) -> None:
    assert hanging_notes(musegen_midi(path)) == 0


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_musegen_writes_musicxml(path: Path) -> None:
    (piece,) = convert(read_rule(path).text.encode("utf-8"), "abc", "musicxml")
    assert piece.error is None, piece.error


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_abc2midi_plays_the_expected_notes(path: Path) -> None:
    """The hand-written expectation is what the reference tool plays, or the file says
    where and why abc2midi differs (and it still does)."""
    rule = read_rule(path)
    difference = first_difference(rule.expected, abc2midi_notes(path))
    if rule.abc2midi_differs:
        assert difference is not None, "abc2midi now plays the standard's notes: drop the 'abc2midi differs' line"
    else:
        assert difference is None, difference.describe()


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_musegen_plays_what_abc2midi_plays(path: Path) -> None:
    rule = read_rule(path)
    if rule.abc2midi_differs:
        pytest.skip(f"abc2midi differs from the standard here: {rule.abc2midi_differs}")
    difference = first_difference(abc2midi_notes(path), midi_notes(musegen_midi(path)))
    assert difference is None, difference.describe()
