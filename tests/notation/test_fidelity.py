"""The comparison that defines an exact round trip must notice every real change."""

from fractions import Fraction

import pytest

from musegen_cli.notation.fidelity import compare_scores, part_events
from musegen_cli.notation.formats import parse_score

BASE = "X:1\nM:4/4\nL:1/8\nK:G\n"


def abc(body: str):
    return parse_score((BASE + body).encode(), "abc")


def test_identical_music_is_the_same() -> None:
    assert compare_scores(abc("GABc d4|[DG]8|"), abc("GA Bc d4|[GD]8|")).same


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ("GABc d4|[DG]8|]", ""),  # bar-line style is not music
        ("GAB^c d4|[DG]8|", "event 3: expected pitches [72]"),
        ("GABc d2 z2|[DG]8|", "event 4: expected pitches [74] at 2 for 2, got pitches [74] at 2 for 1"),
        ("GABc d4|[DA]8|", "expected pitches [62, 67]"),
        ("GABc d4|[DG]8|e8|", "part 1: 6 events, got 7"),
        ("GAB z d4|[DG]8|", "event 3: expected pitches [72] at 3/2 for 1/2, got pitches [74] at 2"),
    ],
)
def test_each_kind_of_change_is_found(changed: str, reason: str) -> None:
    result = compare_scores(abc("GABc d4|[DG]8|"), abc(changed))
    assert result.same is (reason == "")
    assert reason in result.reason


def test_a_tie_chain_is_one_sounding_note_and_a_lost_tie_is_a_difference() -> None:
    whole = abc("c8|")
    assert compare_scores(whole, abc("c4- c4|")).same
    assert compare_scores(abc("z4 c4-|c4 z4|"), abc("z4 c8 z4|".replace("c8", "c4-c4"))).same
    assert not compare_scores(whole, abc("c4 c4|")).same


def test_events_are_exact_fractions_and_grace_notes_are_left_out() -> None:
    events = part_events(abc("(3cde {g}f2 z4|").parts[0])
    assert events == [
        (Fraction(0), Fraction(1, 3), (72,)),
        (Fraction(1, 3), Fraction(1, 3), (74,)),
        (Fraction(2, 3), Fraction(1, 3), (76,)),
        (Fraction(1), Fraction(1), (78,)),  # K:G: f is F#
    ]


def test_different_part_counts_differ(chorale_bytes: bytes) -> None:
    chorale = parse_score(chorale_bytes, "musicxml")
    result = compare_scores(chorale, abc("GABc d4|"))
    assert not result.same and result.reason == "4 parts with notes, got 1"
