"""Rewriting ABC for music21's reader: interleaved voices, header voice definitions, inline keys."""

from musegen_cli.notation.abc_text import normalize_for_music21, staff_groups
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


def test_interleaved_voices_become_per_voice_blocks() -> None:
    tune = normalize_for_music21(INTERLEAVED)
    body = tune.text.split("K:G\n", 1)[1]
    assert body == 'V:1 clef=treble name="Upper"\nd2 B2|\nK:D\nf2 d2|\nV:2 clef=bass name="Lower"\nK:G\nG,4|\nD,4|\n'
    assert [v.id for v in tune.voices] == ["1", "2"]
    assert [v.name for v in tune.voices] == ["Upper", "Lower"]
    assert tune.staff_groups == [["1", "2"]]


def test_interleaved_tune_parses_into_one_staff_with_two_voices() -> None:
    score = parse_score(INTERLEAVED.encode(), "abc")
    assert len(score.parts) == 1 and score.parts[0].partName == "Upper"
    first, second = score.parts[0].getElementsByClass("Measure")
    assert [[n.nameWithOctave for n in v.notes] for v in first.voices] == [["D5", "B4"], ["G3"]]
    # the inline [K:D] applies to voice 1 only; music21 alone would ignore it
    assert [[n.nameWithOctave for n in v.notes] for v in second.voices] == [["F#5", "D5"], ["D3"]]


def test_single_voice_tune_only_gets_inline_fields_split() -> None:
    tune = normalize_for_music21("X:1\nL:1/8\nK:C\nf2 f2|[K:G]f2 f2|[M:3/4]f6|\n")
    assert tune.text == "X:1\nL:1/8\nK:C\nf2 f2|\nK:G\nf2 f2|\nM:3/4\nf6|"
    assert tune.voices == [] and tune.staff_groups == []


def test_staff_groups_are_voices_in_parentheses() -> None:
    assert staff_groups("%%score {(1 2) | (3 4)} 5") == [["1", "2"], ["3", "4"]]
    assert staff_groups("%%staves [1 2 3]") == []
