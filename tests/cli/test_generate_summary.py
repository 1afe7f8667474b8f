"""The summary table `musegen generate` prints: every kind of piece fits in it."""

from __future__ import annotations

from musegen_cli.analysis.features import analyze_abc
from musegen_cli.cli import generate
from musegen_cli.generation import GeneratedPiece


def test_pieces_without_notes_or_that_do_not_parse_still_get_a_row(capsys):
    pieces = [
        GeneratedPiece(abc, analyze_abc(abc), attempts=1)
        for abc in ("X:1\nK:C\n{c/d/}\n", "X:1\nM:4/4\nL:1/4\nK:G\nGABc|d4|\n", "\x00")
    ]
    generate.show_summary(pieces, seed=3)
    table = capsys.readouterr().err
    assert "no notes" in table and "G major" in table and "seed 3" in table


def test_invalid_pieces_say_how_many_bars_are_off_the_meter():
    one = analyze_abc("X:1\nM:4/4\nL:1/4\nK:G\nGABc|dcB|GABc|d4|\n")
    two = analyze_abc("X:1\nM:4/4\nL:1/4\nK:G\nGABc|dcB|GABc|dc|d4|\n")
    assert generate._invalid_reason(one) == "1 bar off meter"
    assert generate._invalid_reason(two) == "2 bars off meter"
