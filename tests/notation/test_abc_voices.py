"""Voices, staves and inline fields as musegen's ABC reader reads them."""

from musegen_cli.notation.abc import read_tune
from musegen_cli.notation.formats import parse_score

INTERLEAVED = """X:1
T:Two voices
M:2/4
L:1/8
%%score (1 2)
V:1 clef=treble name="Upper"
V:2 clef=bass name="Lower"
K:G
[V:1]d2 B2|[V:2]G,4|
[V:1][K:D]f2 d2|[V:2]D,4|
"""


def test_interleaved_voices_are_read_voice_by_voice_with_their_names() -> None:
    tune = read_tune(INTERLEAVED)
    assert [(v.id, v.name) for v in tune.voices] == [("1", "Upper"), ("2", "Lower")]
    assert [len(v.bars) for v in tune.voices] == [2, 2]
    assert tune.staff_groups == [["1", "2"]]


def test_interleaved_tune_parses_into_one_staff_with_two_voices() -> None:
    score = parse_score(INTERLEAVED.encode(), "abc")
    assert len(score.parts) == 1 and score.parts[0].partName == "Upper"
    first, second = score.parts[0].getElementsByClass("Measure")
    assert [[n.nameWithOctave for n in v.notes] for v in first.voices] == [["D5", "B4"], ["G3"]]
    # the inline [K:D] applies to voice 1 only
    assert [[n.nameWithOctave for n in v.notes] for v in second.voices] == [["F#5", "D5"], ["D3"]]


def test_inline_key_and_meter_changes_apply_from_where_they_stand() -> None:
    score = parse_score(b"X:1\nL:1/8\nK:C\nf2 f2|[K:G]f2 f2|[M:3/4]f6|\n", "abc")
    assert [n.nameWithOctave for n in score.flatten().notes] == ["F5", "F5", "F#5", "F#5", "F#5"]
    last = score.parts[0].getElementsByClass("Measure")[-1]
    assert last.timeSignature.ratioString == "3/4"


def test_staff_groups_are_voices_in_parentheses() -> None:
    tune = "X:1\nL:1/8\n%%score {(1 2) | (3 4)} 5\nK:C\n[V:1]c|[V:2]c|[V:3]c|[V:4]c|[V:5]c|\n"
    assert read_tune(tune).staff_groups == [["1", "2"], ["3", "4"]]
    assert read_tune("X:1\nL:1/8\n%%staves [1 2 3]\nK:C\nc|\n").staff_groups == []
