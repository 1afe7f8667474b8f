"""TunesFormer's form control codes: computed as its data preparation computes them, and
written from the conditions sections / section_bars / similarity.

Expectations are worked by hand from the source's rules (tunesformer_codes' docstring):
sections cut at ``:|`` ``||`` ``|]`` ``::`` ``|:`` ``[|``, bars counted at ``|``, and
``E = round(10 * (1 - lev / longer length))``.
"""

from __future__ import annotations

import pytest
from musegen_plugins.abc_transformer.tunesformer_codes import control_codes, form_codes, levenshtein
from musegen_plugins.abc_transformer.tunesformer_format import TunesFormerFormat

from musegen_cli.errors import UserError


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("kitten", "sitting", 3), ("", "abc", 3), ("flaw", "lawn", 2), ("abc", "abc", 0), ("|:abc|def:|", "abc|deg|]", 5)],
)
def test_levenshtein_distance(a, b, distance):
    assert levenshtein(a, b) == distance == levenshtein(b, a)


def test_two_sections_bars_and_similarity():
    # sections "|:abc|def:|" and "abc|deg|]": 2 bars each; lev 5 of 11 -> 1 - 5/11 = 0.545 -> E:5
    assert control_codes("L:1/8\nK:D\n|:abc|def:|abc|deg|]\n") == "S:2\nB:2\nE:5\nB:2\n"


def test_three_sections_give_one_similarity_per_earlier_section():
    tune = "K:G\nab|cd||ab|cd||ef|gf|]\n"  # "ab|cd||", "ab|cd||" (the same: E:10), "ef|gf|]"
    codes = control_codes(tune).split("\n")
    assert codes[:4] == ["S:3", "B:2", "E:10", "B:2"]
    # "ef|gf|]" against "ab|cd||": 4 substitutions and ']' for '|' -> lev 5 of 7 -> 0.286 -> E:3
    assert codes[4:7] == ["E:3", "E:3", "B:2"]


def test_a_second_ending_joins_its_section():
    # ":|2ef|]" opens with a digit: one section, "|:ab|1cd|2ef" once stripped -> 3 bars
    assert control_codes("K:D\n|:ab|1cd:|2ef|]\n") == "S:1\nB:3\n"


def test_a_tune_without_section_bar_lines_is_one_section():
    # its last '|' counts as '|]', which is stripped: "ab|cd|ef" -> 3 bars
    assert control_codes("M:2/4\nK:C\nab|cd|ef|\n") == "S:1\nB:3\n"
    assert control_codes("K:C\n") == ""


def test_conditions_write_the_sources_code_lines_in_its_order():
    assert form_codes({}) == ""
    assert form_codes({"sections": "2"}) == "S:2\n"
    # EMusicGen's own example prompt: A:Q1, S:2, B:9, E:4, B:9
    assert (
        TunesFormerFormat().prompt(
            {"emotion": "Q1", "sections": "2", "section_bars": "9", "similarity": "4"}, "X:1\nL:1/8\nM:3/4\nK:D\n de |"
        )
        == "A:Q1\nS:2\nB:9\nE:4\nB:9\nL:1/8\nM:3/4\nK:D\n de |"
    )
    assert form_codes({"sections": "3", "section_bars": "8,8,4", "similarity": "10,2,3"}) == (
        "S:3\nB:8\nE:10\nB:8\nE:2\nE:3\nB:4\n"
    )
    assert form_codes({"sections": "1", "section_bars": "16"}) == "S:1\nB:16\n"


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"section_bars": "8"}, "add -c sections=N"),
        ({"sections": "9"}, "invalid sections '9'"),
        ({"sections": "2,2"}, "give one whole number"),
        ({"sections": "2", "section_bars": "8,8,8"}, "lists 3 sections but sections is 2"),
        ({"sections": "2", "section_bars": "40"}, "invalid section_bars '40'"),
        ({"sections": "2", "similarity": "5"}, "add -c section_bars=N"),
        ({"sections": "2", "section_bars": "8"}, "add -c similarity=L"),
        ({"sections": "1", "section_bars": "8", "similarity": "5"}, "needs sections=2 or more"),
        ({"sections": "3", "section_bars": "8", "similarity": "5,5"}, "3 sections have 3 similarity levels"),
        ({"sections": "2", "section_bars": "8", "similarity": "11"}, "invalid similarity '11'"),
        ({"sections": "2", "section_bars": "8", "similarity": "high"}, "invalid similarity 'high'"),
    ],
)
def test_impossible_form_conditions_are_one_line_errors(conditions, message):
    with pytest.raises(UserError, match=message) as caught:
        TunesFormerFormat().check_conditions(conditions)
    assert "\n" not in str(caught.value)


def test_a_scored_piece_without_codes_gets_its_computed_codes():
    fmt = TunesFormerFormat()
    piece = "X:1\nT:Reel\nL:1/8\nK:D\n|:abc|def:|abc|deg|]\n"
    assert fmt.scored_text(piece, {"emotion": "Q2"}) == "A:Q2\nS:2\nB:2\nE:5\nB:2\n" + piece.split("\n", 1)[1]
    given = {"sections": "1", "section_bars": "4"}
    assert fmt.scored_text(piece, given).startswith("S:1\nB:4\nT:Reel")
    assert fmt.to_standard(fmt.prompt(given, None) + "L:1/8\nK:D\nabc|\n") == "X:1\nL:1/8\nK:D\nabc|\n"
