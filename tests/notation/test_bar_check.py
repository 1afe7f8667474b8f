"""BarCheck: bars judged against the meter while a tune is written."""

from __future__ import annotations

import shutil

import pytest

from musegen_cli.notation.abc_patches import split_units
from musegen_cli.notation.bar_check import BarCheck


def verdicts(tune: str) -> list[tuple[str, bool]]:
    check, out = BarCheck(), []
    for unit in split_units(tune):
        out.append((unit.strip(), check.fits(unit)))
        check.add(unit)
    return [(u, ok) for u, ok in out if "|" in u or "::" in u]


def test_full_bars_fit_and_miscounted_ones_do_not():
    tune = "X:1\nM:3/4\nL:1/8\nK:G\nA>A d>ed>B|c>de>f d>ed>e|G6|\n"
    assert verdicts(tune) == [("A>A d>ed>B|", True), ("c>de>f d>ed>e|", False), ("G6|", True)]


def test_pickups_and_the_section_ends_that_complete_them_may_be_short():
    tune = "X:1\nM:4/4\nL:1/8\nK:D\nA|d2f2 a2f2|d2B2 A3:|\n|:f|d2f2 a2f2|d6 z:|\n"
    assert all(ok for _, ok in verdicts(tune))
    check = BarCheck()
    for unit in split_units("X:1\nM:4/4\nL:1/8\nK:D\nd2f2 a2f2|d2B2 A2:|"):
        check.add(unit)
    assert check.misfit_at_end() == 1  # no pickup completes the short last bar
    assert check.fits("|:f2|") and not check.fits("|:f|") and not check.fits("d2f2 a2f2|")
    assert not any(ok for _, ok in verdicts("X:1\nM:4/4\nL:1/8\nK:D\nd2f2 a2f2|d2B2|d2f2 a2f2|\n")[1:2])


def test_a_later_pickup_must_complete_the_short_repeat_just_before_it():
    # After a full closing bar a short opening bar is a bar of the wrong length (abc2abc) and
    # stays unpaired (the analyzer); after a short `:|` the next bar must make up the rest.
    unpaired = "X:1\nM:4/4\nL:1/8\nK:D\nA|d2f2 a2f2|d2B2 A4:|\nf|d2f2 a2f2|\n"
    assert verdicts(unpaired)[-2] == ("f|", False)
    paired = "X:1\nM:4/4\nL:1/8\nK:D\nA|d2f2 a2f2|d2B2 A3:|\nf|d2f2 a2f2|\n"
    assert verdicts(paired)[-2:] == [("f|", True), ("d2f2 a2f2|", True)]
    # A line that starts with a note and a repeat sign is a bar, not a field line.
    assert verdicts("X:1\nM:2/4\nL:1/8\nK:G\nd|GGGA|G4:|\nd:|BGB2|\n")[-2:] == [("d:|", True), ("BGB2|", False)]
    # Short bars closed by `||`, `|]` or a plain `|` are never paired (abc2abc: "Bar 3 is 3/8 not 4/4").
    assert verdicts("X:1\nM:4/4\nL:1/8\nK:D\nA|d2f2 a2f2|d2B2 A3||\nf|d2f2 a2f2|]\n")[2:4] == [
        ("d2B2 A3||", False), ("f|", False)]


def test_ending_inside_a_short_bar_does_not_fit():
    check = BarCheck()
    for unit in ("M:4/4\n", "L:1/8\n", "K:C\n", "c8|", "DEFG G2\n"):
        check.add(unit)
    assert check.misfit_at_end() == 1  # six eighths, and no pickup to complete
    check.add("A2|")
    assert check.misfit_at_end() == 0  # nothing open


def test_meter_and_length_follow_changes_and_defaults():
    tune = "X:1\nM:2/4\nK:C\nc4 d4|[M:3/4]c6|\nM:6/8\nL:1/8\nc3 d3|\n"  # L defaults to 1/16 below 3/4
    assert verdicts(tune) == [("c4 d4|", True), ("[M:3/4]c6|", False), ("c3 d3|", True)]
    assert verdicts("X:1\nM:3/4\nL:1/4\nK:C\nC D E F|\n") == [("C D E F|", False)]


def test_only_the_tunes_first_bar_is_a_pickup_and_free_meter_or_unknown_syntax_pass():
    # abc2abc counts bars across voices: a second voice's short first bar is "Bar 1 is 1/4 not 3/4".
    tune = "X:1\nM:3/4\nL:1/4\nV:1\nV:2\nK:C\n[V:1]c|[V:2]C|[V:1]c d e|[V:2]C D|\n"
    assert verdicts(tune) == [("[V:1]c|", True), ("[V:2]C|", False), ("[V:1]c d e|", True), ("[V:2]C D|", False)]
    assert [ok for _, ok in verdicts("X:1\nM:3/4\nL:1/4\nK:C\n|:c|c d e|c d e:|\n")] == [False, True, True]
    assert all(ok for _, ok in verdicts("X:1\nM:none\nK:C\nabcdefg|\n"))
    assert all(ok for _, ok in verdicts("X:1\nM:4/4\nK:C\nab &cd|\n"))


def test_music_before_any_voice_belongs_to_the_first_voice_named():
    # Readers put it in the first voice, so that voice's short bar is mid-tune, not a pickup.
    from musegen_cli.analysis.abc_bars import read_abc_bars
    from musegen_cli.analysis.bars import off_meter_bars

    tune = "X:1\nM:3/4\nL:1/4\nK:C\nc|c d e|[V:1]c|c d e|[V:2]C|C D E|\n"
    assert verdicts(tune) == [("c|", True), ("c d e|", True), ("[V:1]c|", False), ("c d e|", True),
                              ("[V:2]C|", False), ("C D E|", True)]
    assert [off_meter_bars(voice) for voice in read_abc_bars(tune)] == [[2], []]


def test_a_bar_split_across_patches_is_judged_whole():
    check = BarCheck()
    for unit in ("M:4/4\n", "L:1/8\n", "K:C\n"):
        check.add(unit)
    assert check.fits("cdef gabc")  # no bar line yet: nothing to judge
    check.add("cdef gabc")
    assert not check.fits("d|")  # nine eighths in all
    assert check.fits("|")
    check.add("|")
    assert check.fits("c8|") and not check.fits("c4|")


def test_comment_and_condition_lines_are_read_past():
    tune = "X:1\n%emotion Q2\n%%score 1\nM:2/4\nL:1/8\nK:Dm\nd2 f2|a4 a2|\n"
    assert verdicts(tune) == [("d2 f2|", True), ("a4 a2|", False)]


def test_a_strict_check_refuses_bars_it_cannot_read():
    tune = "X:1\nM:4/4\nL:1/8\nK:C\n(ec'2 b2g2)2|c8|\n"
    assert verdicts(tune)[0] == ("(ec'2 b2g2)2|", True)
    check = BarCheck(strict=True)
    for unit in ("M:4/4\n", "L:1/8\n", "K:C\n"):
        check.add(unit)
    assert not check.fits("(ec'2 b2g2)2|") and check.fits("G2`g2`e4|")
    assert not check.fits("G2`g2``e4|")  # a run of backquotes: the grammar's stray characters


def test_a_strict_check_holds_each_bar_to_the_grammar():
    check = BarCheck(strict=True)
    for unit in ("X:1\n", "T:t\n", "M:4/4\n", "L:1/8\n", "V:1\n", "K:D\n"):
        check.add(unit)
    assert check.fits("(d2 e2) f4|")
    for bad in ("d2 e2) f4|", "(d) e2 f4 z|", "F4-D2 A2|", "[V:3]d8|", "[K:cd e3]d8|", "A,,,,,,,,3 A5|", "d````e d6|"):
        assert check.misfit(bad) == 2, bad
    check.add("(d2 e2 f4|")  # a slur may run on over the bar line, but not to the end
    assert check.misfit_at_end() == 2
    check.add("d8)|")
    assert check.misfit_at_end() == 0


def test_misfit_ranks_unreadable_bars_below_miscounted_ones():
    check = BarCheck(strict=True)
    for unit in ("M:4/4\n", "L:1/8\n", "K:C\n", "c8|"):
        check.add(unit)
    assert check.misfit("c8|") == 0 and check.misfit("c4|") == 1 and check.misfit("A//2 c6|") == 2


def test_a_bar_that_leaves_a_tuplet_unfinished_cannot_be_read():
    """music21 would time the next bar's first notes as the tuplet's rest."""
    check = BarCheck(strict=True)
    for line in ("X:1\n", "M:C|\n", "L:1/8\n", "K:Am\n"):
        check.add(line)
    assert check.misfit("D>D (3zgf g2 (3e) |") == 2
    assert check.misfit("D>D (3zgf g2 (3e") == 0  # the bar may still finish it in the next patch
    assert check.misfit("D>D (3zgf g2 (3efg |") == 0


def test_a_header_field_no_reader_can_take_is_written_again():
    check = BarCheck(strict=True)
    check.add("X:1\n")
    assert check.misfit("L:1/16|\n") == 2 and check.misfit("M:,/4\n") == 2
    assert check.misfit("L:1/16\n") == 0 and check.misfit("M:C|\n") == 0 and check.misfit("T:Air\n") == 0
    assert check.misfit("L:1/16|") == 0  # the line may not be finished yet
    assert BarCheck().misfit("L:1/16|\n") == 0  # a lenient check leaves it alone


def test_a_strict_check_wants_a_meter_before_the_key():
    """A piece without a meter fails the strict piece check: the header line that would
    leave it without one (`M:none`, or `K:` with no `M:` before it) is written again."""
    check = BarCheck(strict=True)
    for unit in ("X:1\n", "T:t\n", "L:1/8\n"):
        check.add(unit)
    assert check.misfit("M:none\n") == 2 and check.misfit("K:G\n") == 2
    check.add("M:6/8\n")
    assert check.misfit("K:G\n") == 0
    assert BarCheck().misfit("M:none\n") == 0  # a lenient check leaves it alone


def _strict_body(*bars: str) -> BarCheck:
    check = BarCheck(strict=True)
    for unit in ("X:1\n", "T:t\n", "M:2/4\n", "L:1/8\n", "K:G\n", *bars):
        check.add(unit)
    return check


def test_a_slur_may_not_stay_open_past_slur_bars():
    from musegen_cli.notation.bar_check import SLUR_BARS

    check = _strict_body("(G2 A2|", *["B2 c2|"] * (SLUR_BARS - 2))
    assert check.misfit("d2 e2|") == 1  # the bar that would keep it open over SLUR_BARS bar lines
    assert check.misfit("d2 e2 f2|") == 1 and check.misfit("d2 e2)) f2|") == 2  # ranked as a miscount
    assert check.misfit("d2 e2)|") == 0 and check.misfit("d2) e2|") == 0
    assert _strict_body("(G2 A2|", *["B2 c2|"] * (SLUR_BARS - 3)).misfit("d2 e2|") == 0


def test_a_tie_to_another_pitch_is_refused_in_the_next_bar():
    check = _strict_body("G2 A2-|")
    assert check.misfit("E2 G2|") == 2 and check.misfit("A2 G2|") == 0


def test_no_section_end_with_a_slur_open_and_the_last_bar_must_close_it():
    open_slur = _strict_body("(G2 A2|", "B2 c2:|")
    assert not open_slur.at_section_end and _strict_body("(G2 A2|", "B2) c2:|").at_section_end
    assert open_slur.misfit("d2 e2|") == 0  # as a bar on the way, it may run on
    assert open_slur.misfit_as_last("d2 e2|") == 2 and open_slur.misfit_as_last("d2 e2)|") == 0
    assert _strict_body("G2 A2|").misfit_as_last("B2 c2-|") == 2  # a tie to no note


#: Bodies (under M:4/4, L:1/8) that abc2abc's bar count accepts or refuses, with and without pickups.
COUNTED = (
    "A|d2f2 a2f2|d2B2 A3:|\n|:f|d2f2 a2f2|d6 z:|\n",  # short repeats completed by the next bar
    "A|d2f2 a2f2|d2B2 A3::f|d2f2 a2f2|d6 z:|\n",
    "A|d2f2 a2f2|d2B2 A3||\nf|d2f2 a2f2|]\n",  # a short bar at `||`
    "A|d2f2 a2f2|d2B2 A4::f|d2f2 a2f2|]\n",  # a later pickup after a full bar
    "A|d2f2 a2f2|d2B2 A3:|\nd2f2 a2f2|]\n",  # a short repeat the next bar does not complete
    "|:A|d2f2 a2f2|d2B2 A3:|\n",  # a bar line before the pickup makes it bar 1
    "d2f2 a2f2|d2B2 A3|]\n",  # a short last bar at `|]`
    "A|d2f2 a2f2|d2B2 A3:|\n",  # a short last repeat (abc2abc does not count the end)
)


@pytest.mark.skipif(shutil.which("abc2abc") is None, reason="abc2abc is not installed")
@pytest.mark.parametrize("body", COUNTED)
def test_the_bar_rule_agrees_with_abc2abc(body: str) -> None:
    from musegen_cli.notation.abc_tools import tool_messages

    tune = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n" + body
    check, fits = BarCheck(), True
    for unit in split_units(tune):
        fits = fits and check.fits(unit)
        check.add(unit)
    counted_wrong = any(m.startswith("%Error : Bar ") for m in tool_messages(tune, "abc2abc"))
    assert (fits and check.misfit_at_end() == 0) == (not counted_wrong)


@pytest.mark.parametrize("music,meter,units", [
    ("A>B c<d", "4/4", 4),  # ABC 2.1 4.4: broken rhythm 3/2 + 1/2
    ("(3ABc d2", "4/4", 4),  # 4.13: three in the time of two
    ("(5abcde f", "6/8", 4),  # compound meter: five in the time of three
    ("[CEG]2 {g}A B/C/", "4/4", 4),  # a chord lasts its first note; grace notes take no time
    ("Z", "3/4", 6),  # a bar of rest is the meter's length
    ("A2 #B", "4/4", None),  # what the reader skips is not timed
])
def test_bars_are_timed_by_the_abc_reader(music: str, meter: str, units: int | None) -> None:
    from fractions import Fraction

    from musegen_cli.notation.abc.bar_time import bar_length

    assert bar_length(music, Fraction(1, 8), meter) == units


def test_a_cadence_check_ends_a_tune_only_on_the_tonic_triad():
    for last, ends in (("G4 B4|", True), ("D4 d4|", True), ("A4 ^F4|", False), ("G4 [DFA]4|", False)):
        check = BarCheck(strict=True, cadence=True)
        for unit in ("X:1\n", "T:t\n", "M:4/4\n", "L:1/8\n", "K:G\n", "GABc d4|", last):
            check.add(unit)
        assert (check.misfit_at_end() == 0) is ends, last
        plain = BarCheck(strict=True)
        for unit in ("X:1\n", "T:t\n", "M:4/4\n", "L:1/8\n", "K:G\n", "GABc d4|", last):
            plain.add(unit)
        assert plain.misfit_at_end() == 0


def test_a_slur_no_try_closed_costs_one_bar_not_every_later_one():
    from musegen_cli.notation.bar_check import SLUR_BARS

    check = _strict_body("(G2 A2|", *["B2 c2|"] * (SLUR_BARS - 1))  # its 8th bar line was kept open
    assert check.misfit("d2 e2|") == 0  # later bars are not refused for it
    assert check.misfit_at_end() == 0  # and the tune may end (the strict piece check refuses it)


def test_a_strict_check_wants_a_short_repeat_its_pickup_completes():
    check = _strict_body("d|", "GGGA|")
    assert check.misfit("G3:|") == 0 and check.misfit("G2:|") == 1  # a one-eighth pickup: 3 + 1
    plain = BarCheck()
    for unit in ("X:1\n", "T:t\n", "M:2/4\n", "L:1/8\n", "K:G\n", "d|", "GGGA|"):
        plain.add(unit)
    assert plain.misfit("G2:|") == 0 and plain.misfit("G2|") == 1  # abc2abc's count waits for the next bar
