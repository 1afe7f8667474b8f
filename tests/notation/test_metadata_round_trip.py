"""Metadata through conversions: titles and composers survive, nothing is invented.

music21's MusicXML exporter fills a score without metadata with the title "Music21 Fragment"
and the composer "Music21"; read back and written as ABC they became `T:`/`C:` lines that
the source never had.
"""

from __future__ import annotations

import re

import pytest

from musegen_cli.notation.conversion import convert

BARE = b"X:1\nM:6/8\nL:1/8\nK:D\nA|dfa agf|e3 e2A|\n"
NAMED = b"X:1\nT:The Kesh\nC:Trad. arr. Mary Byrne\nM:6/8\nL:1/8\nK:G\nD|GAG GAB|ABA ABd|\n"
TITLED = b"X:1\nT:The Kesh\nM:6/8\nL:1/8\nK:G\nD|GAG GAB|ABA ABd|\n"


def header_fields(abc: str, names: str = "TC") -> list[str]:
    return [line for line in abc.splitlines() if re.match(rf"^[{names}]:", line)]


def through_musicxml(abc: bytes) -> tuple[bytes, str]:
    """(the MusicXML of `abc`, that MusicXML converted back to ABC)."""
    (xml,) = convert(abc, "abc", "musicxml")
    (back,) = convert(xml.outputs[0], "musicxml", "abc")
    return xml.outputs[0], back.outputs[0].decode()


def test_a_tune_without_title_or_composer_gets_none_on_the_way() -> None:
    xml, back = through_musicxml(BARE)
    assert b"Music21" not in xml
    assert b"<creator" not in xml and b"<movement-title" not in xml
    assert header_fields(back) == []


@pytest.mark.parametrize("abc", [NAMED, TITLED], ids=["title-and-composer", "title-only"])
def test_title_and_composer_survive_abc_musicxml_abc(abc: bytes) -> None:
    xml, back = through_musicxml(abc)
    assert b"Music21" not in xml
    assert header_fields(back) == header_fields(abc.decode())


def test_an_abc_tune_without_title_is_written_without_one() -> None:
    (piece,) = convert(BARE, "abc", "abc")
    assert header_fields(piece.outputs[0].decode()) == []


def test_midi_has_no_title_to_invent_in_musicxml() -> None:
    (midi,) = convert(BARE, "abc", "midi")
    (xml,) = convert(midi.outputs[0], "midi", "musicxml")
    assert b"Music21" not in xml.outputs[0]
