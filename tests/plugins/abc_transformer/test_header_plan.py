"""The emotion template and the header plan: the mode and tempo asked for end up in K: and Q:."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from musegen_cli.analysis.abc_header import parse_abc_header
from musegen_cli.errors import UserError
from musegen_plugins.abc_transformer import conditions as cond
from musegen_plugins.abc_transformer import header_plan as plan


def test_the_template_fills_in_only_the_parts_not_given():
    assert plan.with_template({"emotion": "Q3"}) == {
        "emotion": "Q3", "mode": "minor", "tempo": "slow", "register": "low"}
    assert plan.with_template({"emotion": "Q1", "register": "low"})["register"] == "low"
    assert plan.with_template({"mode": "minor"}) == {"mode": "minor"}


@pytest.mark.parametrize(("value", "mode", "expected"), [
    ("G", "minor", "K:Gm"),
    ("G", "major", "K:G"),
    ("Em", "major", "K:E"),
    ("Ador", "minor", "K:Ador"),
    ("Ador", "major", "K:A"),
    ("Dmix", "major", "K:Dmix"),
    ("F# minor clef=bass", "major", "K:F# clef=bass"),
    ("Bb clef=treble", "minor", "K:Bbm clef=treble"),
    ("none", "minor", "K:Am"),
    ("", "major", "K:C"),
    ("Eb", None, "K:Eb"),
])
def test_key_lines_take_the_planned_mode_and_keep_the_tonic(value, mode, expected):
    assert plan.key_with_mode(value, mode) == expected


@pytest.mark.parametrize(("meter", "beat"), [
    ("6/8", Fraction(3, 8)), ("12/8", Fraction(3, 8)), ("3/8", Fraction(3, 8)), ("4/4", Fraction(1, 4)),
    ("2/2", Fraction(1, 2)), ("C|", Fraction(1, 2)), ("C", Fraction(1, 4)), ("5/8", Fraction(1, 4)), (None, Fraction(1, 4)),
])
def test_tempo_is_counted_in_the_meters_beat(meter, beat):
    assert plan.beat_length(meter) == beat


@pytest.mark.parametrize("band", ["fast", "slow"])
@pytest.mark.parametrize("meter", ["6/8", "4/4", "2/2", "3/8"])
def test_planned_tempo_lies_in_the_band_in_quarter_notes(band, meter):
    rng = random.Random(0)
    low, high = plan.TEMPO_QPM[band]
    for _ in range(20):
        line = plan.tempo_line(band, meter, rng)
        qpm = parse_abc_header(f"X:1\nM:{meter}\n{line}\nK:C\n").declared.tempo_qpm
        assert low - 2 <= qpm <= high + 2  # rounding to a whole number of beats


def test_apply_rewrites_the_models_header_and_drops_what_follows_it():
    own = "M:6/8\nL:1/8\nQ:3/8=60\nK:D\nABc def|\n"
    planned = plan.apply(own, plan.HeaderPlan(mode="minor", tempo="fast"), random.Random(1))
    lines = planned.splitlines()
    assert lines[:2] == ["M:6/8", "L:1/8"] and lines[-1] == "K:Dm" and len(lines) == 4
    assert lines[2].startswith("Q:3/8=") and planned.endswith("\n")
    declared = parse_abc_header("X:1\n" + planned).declared
    assert declared.key.mode == "minor" and declared.tempo_qpm >= plan.TEMPO_QPM["fast"][0] - 2


def test_apply_without_a_tempo_keeps_the_models_own_and_adds_a_missing_key():
    assert plan.apply("M:4/4\nQ:1/4=90\n", plan.HeaderPlan(mode="major"), random.Random(0)) == "M:4/4\nQ:1/4=90\nK:C\n"
    assert plan.apply("M:3/4\nabc|\n", plan.HeaderPlan(mode="minor"), random.Random(0)) == "M:3/4\nK:Am\n"


def test_header_done_needs_a_complete_key_line_or_music():
    assert not plan.header_done("M:4/4\nL:1/8\nK:G")
    assert plan.header_done("M:4/4\nL:1/8\nK:G\n")
    assert plan.header_done("M:4/4\nabc d|\n")
    assert not plan.header_done("M:4/4\n%comment\n")


def test_keys_and_tempos_that_contradict_the_emotion_are_refused():
    with pytest.raises(UserError, match="emotion Q1 and tempo slow contradict"):
        cond.check({"emotion": "Q1", "tempo": "slow"})
    with pytest.raises(UserError, match="key Em is minor but emotion Q4"):
        cond.check({"emotion": "Q4", "key": "Em"})
    with pytest.raises(UserError, match="key Ador is minor but mode major"):
        cond.check({"mode": "major", "key": "Ador"})
    assert cond.check({"emotion": "Q3", "key": "Dm", "register": "high"})["key"] == "Dm"


@pytest.mark.parametrize(("quadrant", "mode"), [("Q1", "major"), ("Q2", "minor"), ("Q3", "minor"), ("Q4", "major")])
def test_generated_pieces_carry_the_planned_key_and_tempo(cli_model, quadrant, mode):
    from musegen_cli.contract import GenerateRequest
    from musegen_plugins.abc_transformer.inference import load

    model = load(cli_model)
    pieces = model.generate(GenerateRequest(conditions={"emotion": quadrant}, count=3, seed=5, max_bars=2))
    band = cond.EMOTION_PARTS[quadrant]["tempo"]
    low, high = plan.TEMPO_QPM[band]
    for piece in pieces:
        declared = parse_abc_header(piece).declared
        assert declared.key is not None and plan.key_with_mode(declared.key.text, mode) == f"K:{declared.key.text}"
        assert low - 2 <= declared.tempo_qpm <= high + 2, piece
    raw = load(cli_model)
    raw.use_template = False
    unplanned = raw.generate(GenerateRequest(conditions={"emotion": quadrant}, count=3, seed=5, max_bars=2))
    assert unplanned != pieces


@pytest.mark.parametrize(
    ("line", "expected"),
    [("M:6/8", "M:6/8"), ("M:C|", "M:C|"), ("M:none", "M:none"), ("M:,/4", "M:4/4"), ("M:2/4|", "M:4/4"),
     ("L:1/16", "L:1/16"), ("L:1/16|", None), ("L:3/8", None), ("T:Air", "T:Air")],
)
def test_meters_and_unit_lengths_no_reader_can_take_are_mended(line, expected):
    assert plan.readable_field(line) == expected


def test_a_planned_header_with_a_broken_unit_length_parses():
    header = plan.apply("X:1\nM:2/4\nL:1/16|\nK:G\n", plan.HeaderPlan(mode="major", tempo="fast"), random.Random(0))
    assert "L:" not in header and header.startswith("X:1\nM:2/4\nQ:")
    from musegen_cli.analysis.features import analyze_abc

    assert analyze_abc(header + "GABc dcBA|\n").parses
    # as the model wrote it, the field is not ABC (musegen's reader reads past the `|`, as
    # abc2midi does, but the field check that the plan uses refuses it)
    from musegen_cli.notation.abc.text import field_readable

    assert not field_readable("L", "1/16|")


@pytest.mark.parametrize("own,meter", [("M:none\nL:1/8\nK:G\n", None), ("L:1/8\nK:G\n", None),
                                       ("L:1/8\nK:G\n", "6/8"), ("M:none\nK:G\n", "3/4")])
def test_a_planned_header_always_has_a_meter(own, meter):
    conditions = {"mode": "minor"} | ({"meter": meter} if meter else {})
    header = plan.apply(own, plan.HeaderPlan.from_conditions(conditions), random.Random(0))
    meters = [line[2:] for line in header.splitlines() if line.startswith("M:")]
    assert meters == [meter or plan.DEFAULT_METER], header
    assert header.index("M:") < header.index("K:")


def test_keyboard_is_a_two_staff_piano_score_not_choir_parts():
    own = 'M:3/4\nL:1/8\n%%score 1 2 3 4\nV:1 name="Soprano"\nV:2 name="Alto"\nV:3\nV:4\nK:F\n'
    planned = plan.HeaderPlan.from_conditions({"instrumentation": "Keyboard"})
    assert not planned.empty and not plan.HeaderPlan.from_conditions({"instrumentation": "Choral"}).keyboard
    header = plan.apply(own, planned, random.Random(0))
    assert header == "M:3/4\nL:1/8\n%%score {1 | 2}\nV:1 clef=treble\nV:2 clef=bass\nK:F\n"
