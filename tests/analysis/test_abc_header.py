"""ABC header reading: keys with modes, tempo in any beat unit, key changes."""

from fractions import Fraction

import pytest

from musegen_cli.analysis.abc_header import parse_abc_header, parse_key, parse_tempo


@pytest.mark.parametrize(
    ("value", "tonic", "mode"),
    [
        ("Dmix", "D", "mixolydian"),
        ("Ador", "A", "dorian"),
        ("ADor", "A", "dorian"),
        ("Em", "E", "minor"),
        ("EM", "E", "minor"),  # ABC 2.1: mode names ignore case, so "M" is "m"
        ("F#m", "F#", "minor"),
        ("Bb", "Bb", "major"),
        ("C dorian", "C", "dorian"),
        ("D Mixolydian % hexatonic", "D", "mixolydian"),
        ("A min -8va", "A", "minor"),
        ("E phr bass", "E", "phrygian"),
        ("Glyd", "G", "lydian"),
        ("Bloc", "B", "locrian"),
        ("Caeo", "C", "minor"),
        ("Gion", "G", "major"),
        ("D exp _b ^f", "D", "major"),
        ("D =c", "D", "major"),
        ("G clef=bass", "G", "major"),
        ("Bn", "B", None),  # unknown mode word: the mode is unknown, not guessed
        ("none", None, None),
        ("HP", None, None),
        ("Hp", None, None),
        ("", None, None),
    ],
)
def test_key_field(value: str, tonic: str | None, mode: str | None) -> None:
    key = parse_key(value)
    assert (key.tonic, key.mode) == (tonic, mode)


def test_key_name_is_tonic_and_mode_or_the_written_text() -> None:
    assert parse_key("Dmix").name == "D mixolydian"
    assert parse_key("HP").name == "HP"
    assert parse_key("none").name == "none"


@pytest.mark.parametrize(
    ("value", "unit", "qpm"),
    [
        ("1/4=120", Fraction(1, 8), 120.0),
        ("3/8=80", Fraction(1, 8), 120.0),  # 80 dotted quarters = 80 x 1.5 quarters
        ("1/2=60", Fraction(1, 8), 120.0),  # 60 halves = 120 quarters
        ("1/8=200", Fraction(1, 8), 100.0),
        ("3/4=40", Fraction(1, 8), 120.0),
        ("1/4 3/8=40", Fraction(1, 8), 100.0),  # beat = 1/4 + 3/8 = 5/8 whole = 2.5 quarters
        ('"Allegro" 1/4=120', Fraction(1, 8), 120.0),
        ('1/4=80 "Slow"', Fraction(1, 8), 80.0),
        ("120", Fraction(1, 8), 60.0),  # legacy: 120 eighths per minute
        ("120", Fraction(1, 16), 30.0),
        ("120", Fraction(1, 4), 120.0),
        ("C=120", Fraction(1, 8), 60.0),  # ABC 1.6: C is the unit length
        ("C2=120", Fraction(1, 8), 120.0),
        ('"Allegro"', Fraction(1, 8), None),  # words alone give no number
        ("1/4=", Fraction(1, 8), None),
        ("1/4=0", Fraction(1, 8), None),
    ],
)
def test_tempo_in_quarter_notes_per_minute(value: str, unit: Fraction, qpm: float | None) -> None:
    assert parse_tempo(value, unit) == qpm


def test_legacy_tempo_uses_the_default_unit_length_from_the_meter() -> None:
    # No L:; M:2/4 = 0.5 < 0.75 so L defaults to 1/16; Q:160 = 160 sixteenths = 40 quarters/min.
    short_meter = parse_abc_header("X:1\nM:2/4\nQ:160\nK:G\nGABc|\n")
    assert short_meter.unit_length == Fraction(1, 16)
    assert short_meter.declared.tempo_qpm == 40.0
    # M:6/8 = 0.75, not below 0.75: L defaults to 1/8; Q:160 eighths = 80 quarters/min.
    assert parse_abc_header("X:1\nM:6/8\nQ:160\nK:G\nGAB|\n").declared.tempo_qpm == 80.0
    assert parse_abc_header("X:1\nM:C|\nK:G\nGABc|\n").unit_length == Fraction(1, 8)


def test_header_fields_and_key_changes() -> None:
    tune = (
        "X:12\nT:First title\nT:Second title\nM:6/8\nL:1/8\nQ:3/8=100\nK:G % home key\n"
        "GAB cde|\nK:Em\nE3 [K:Ador] ABc|\n% [K:C] in a comment is not a key change\n"
    )
    header = parse_abc_header(tune)
    assert header.number == 12
    declared = header.declared
    assert declared.title == "First title"
    assert declared.tempo_qpm == 150.0  # 100 x 3/8 x 4
    assert declared.key is not None and declared.key.name == "G major"
    assert declared.final_key is not None and declared.final_key.name == "A dorian"


def test_a_tune_without_fields_declares_nothing() -> None:
    header = parse_abc_header("CDEF|\n")
    assert header.number is None
    assert header.declared.title is None and header.declared.key is None
    assert header.declared.tempo_qpm is None
