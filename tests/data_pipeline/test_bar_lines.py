from fractions import Fraction

import pytest

from musegen_cli.data.abc_clean import clean_abc_tune
from musegen_cli.data.bar_lines import restore_line_end_bars
from musegen_cli.notation.abc_durations import segment_length


@pytest.mark.parametrize(
    ("fragment", "units"),
    [
        ("d4d4", 8),
        ("A>B c<d", 4),  # broken rhythm: 3/2 + 1/2, 1/2 + 3/2
        ("A>>B", 2),
        ("(3ABc d", 3),  # a triplet of eighths lasts two
        ("[CEG]2 A/B/", 3),
        ('{g}"Am"A2 !trill!B', 3),  # grace notes, chord symbols and decorations take no time
        ("A3/2B/ z2", 4),
        ("(AB) c2-c2", 6),  # a slur is not a tuplet; a tie joins two notes of their own length
    ],
)
def test_fragment_lengths(fragment, units):
    assert segment_length(fragment) == Fraction(units)


def test_unknown_syntax_gives_up():
    assert segment_length("A2 &B2") is None


ESSEN = "X:1\nM:4/2\nL:1/4\nK:G\nG2 | _B2B2c2c2 | d4d4\nz2d4d2 | d2e2=f2d2 | d4z2\nd2 | d2e2d4 |]\n"


def test_a_complete_bar_at_a_line_end_gets_its_bar_line():
    fixed = restore_line_end_bars(ESSEN)
    assert "| d4d4 |\n" in fixed  # the bar was full
    assert "| d4z2\n" in fixed  # a bar that goes on into the next line is left alone


def test_an_opening_line_without_bar_lines_is_not_taken_for_a_bar():
    tune = "X:1\nM:2/4\nL:1/8\nK:D\nAB\ncd ef | g2 a2 |]\n"
    assert restore_line_end_bars(tune) == tune


def test_multi_voice_and_meter_changes_are_left_alone():
    tune = "X:1\nM:4/4\nL:1/8\nK:C\n[M:3/4]C2D2E2\nF6 |]\n"
    assert restore_line_end_bars(tune) == tune


def test_cleaning_restores_bar_lines():
    assert "| d4d4 |\n" in clean_abc_tune(ESSEN)


def test_lengths_music21_cannot_read_are_not_understood():
    assert segment_length("A/// B/// c2") == Fraction(9, 4)
    assert segment_length("A//// c2") is None and segment_length("A//2 c2") is None
    assert segment_length("[CE]//// c2") is None


def test_a_zero_denominator_is_not_understood():
    assert segment_length("A/0 c2") is None and segment_length("[CE]/0") is None
