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


def test_invalid_pieces_say_why(capsys):
    tunes = ("X:1\nT:One\nM:4/4\nL:1/4\nK:G\nGABc|dcB|GABc|d4|\n",
             "X:1\nT:Two\nM:4/4\nL:1/4\nK:G\nGABc|dcB|GABc|dc|d4|\n",
             "X:1\nM:4/4\nL:1/4\nK:G\n(GABc|d4|\n")
    pieces = [GeneratedPiece(abc, analyze_abc(abc), attempts=1) for abc in tunes]
    assert [p.verdict.reasons for p in pieces] == [
        ("1 bar off the meter",), ("2 bars off the meter",), ("no title (T:)", "a slur is never closed")]
    generate.show_summary(pieces, seed=3)
    table = " ".join(capsys.readouterr().err.split())
    assert "no (1 bar off the meter)" in table and "no (2 bars off the meter)" in table
    assert "no title (T:)" in table


def test_a_value_that_names_one_known_value_stands_for_it():
    import pytest

    from musegen_cli.errors import UserError
    from musegen_plugins.abc_transformer.family import FAMILY

    known = {"composer": ("Bach, Johann Sebastian", "Bach, Carl Philipp Emanuel", "Chopin, Frederic")}
    assert generate.check_conditions(FAMILY, {"composer": "Chopin"}, known) == {"composer": "Chopin, Frederic"}
    assert generate.check_conditions(FAMILY, {"composer": "Chopin, Frederic"}, known)["composer"] == "Chopin, Frederic"
    with pytest.raises(UserError, match="could be any of: Bach, Johann Sebastian; Bach, Carl"):
        generate.check_conditions(FAMILY, {"composer": "bach"}, known)
    with pytest.raises(UserError, match="invalid composer 'Brahms'"):
        generate.check_conditions(FAMILY, {"composer": "Brahms"}, known)


def test_reasons_that_quote_abc_brackets_are_shown_as_written(capsys):
    abc = "X:1\nT:t\nM:4/4\nL:1/8\nV:1\nK:D\n[V:1]d8|[V:(3]d8|]\n"
    generate.show_summary([GeneratedPiece(abc, analyze_abc(abc), attempts=1)], seed=1)
    assert "[V:(3]" in capsys.readouterr().err
