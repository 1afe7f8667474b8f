"""The ABC writer: every round trip must give back the same notes (pitch, onset, duration)."""

import re

import pytest

from musegen_cli.notation.abc_writer import score_to_abc
from musegen_cli.notation.conversion import to_musicxml
from musegen_cli.notation.fidelity import compare_scores, score_events
from musegen_cli.notation.formats import parse_score

HEADER = "X:1\nT:Test\nM:4/4\nL:1/8\n"


def abc(text: str):
    return parse_score(text.encode("utf-8"), "abc")


def assert_round_trip(score, layout: str = "classic") -> str:
    """Write `score` as ABC, read it back, and require the same music; return the ABC."""
    text = score_to_abc(score, layout)
    result = compare_scores(score, abc(text))
    assert result.same, f"{result.reason}\n{text}"
    return text


def pitches(score) -> list[str]:
    return [p.nameWithOctave for n in score.recurse().notes for p in n.pitches]


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("essenFolksong/altdeu10.abc", 1),
        ("oneills1850/0001-0050.abc", 3),
        ("airdsAirs/book1.abc", 5),
        ("nottingham-dataset/reelsa-c.abc", 1),
        ("ryansMammoth/7thRegimentReel.abc", 1),
        ("josquin/milleRegrets.abc", 1),
    ],
)
def test_corpus_tunes_survive_abc_and_musicxml_round_trips(corpus_tune, name: str, number: int) -> None:
    score = abc(corpus_tune(name, number))
    assert sum(len(part) for part in score_events(score)) > 20
    assert_round_trip(score, "classic")
    assert_round_trip(score, "interleaved")
    through_xml = parse_score(to_musicxml(score), "musicxml")
    assert compare_scores(score, abc(score_to_abc(through_xml))).same


@pytest.mark.parametrize(
    ("key", "notes"),
    [
        ("Dmix", ["F#5", "C5", "B4", "D5"]),
        ("Ador", ["F#5", "C5", "B4", "D5"]),
        ("Bbm", ["F5", "C5", "B-4", "D-5"]),
        ("Ephr", ["F5", "C5", "B4", "D5"]),
    ],
)
def test_modal_and_minor_keys_are_written_with_their_mode(key: str, notes: list[str]) -> None:
    score = abc(HEADER + f"K:{key}\nf c B d z4|\n")
    assert pitches(score) == notes
    text = assert_round_trip(score)
    assert f"\nK:{key}\n" in text
    assert "^" not in text and "_" not in text and "=" not in text  # the key signature suffices


def test_accidentals_are_explicit_for_every_reading_of_bar_carry() -> None:
    # ABC 2.1 carries an accidental to every note of that letter in the bar, in every octave
    score = abc(HEADER + "K:C\n^c c C =C ^C z3|c2 C2 z4|\n")
    assert pitches(score)[:5] == ["C#5", "C#5", "C#4", "C4", "C#4"]
    text = assert_round_trip(score)
    body = text.split("K:C\n", 1)[1]
    # a reader that carries per octave, or not at all, would read a plain c or C as natural:
    # the writer spells each one, so every reading gets the same notes
    assert body.startswith("^c^c ^C=C ^C")
    assert "|c2 C2" in body  # the bar line cancels accidentals: nothing needed after it


def test_pickup_bar_stays_a_pickup() -> None:
    score = abc("X:1\nM:3/4\nL:1/8\nK:G\nD2|G4 A2|B6|]\n")
    text = assert_round_trip(score)
    assert "\nD2|G4 A2|B6|]" in text
    first = abc(text).parts[0].getElementsByClass("Measure").first()
    assert first.paddingLeft == 2.0


def test_ties_tuplets_chords_rests_and_graces() -> None:
    score = abc(HEADER + "K:G\nc4- c2 (3def|[CEG]2 z2 {ga}b4|(5:4:5c/d/e/f/g/ z/ [B,D]3/2 z4|\n")
    text = assert_round_trip(score)
    for piece in ("c4-", "(3def", "[CEG]2", "{ga}b4", "(5:4:5c/d/e/f/g/", "[B,D]3/", "z2"):
        assert piece in text, piece
    notes = list(abc(text).recurse().notes)
    assert notes[0].tie.type == "start" and notes[1].tie.type == "stop"


def test_meter_changes() -> None:
    score = abc(HEADER + "K:C\nc8|\nM:3/4\nc6|d6|\nM:4/4\nd4 e4|g8|]\n")
    assert [m.duration.quarterLength for m in score.parts[0].getElementsByClass("Measure")] == [4, 3, 3, 4, 4]
    classic = assert_round_trip(score)
    assert "\nM:3/4\nc6|d6|\nM:4/4\n" in classic
    assert "[V:1][M:3/4]c6|" in assert_round_trip(score, "interleaved")


def test_a_bar_longer_than_its_meter_keeps_its_length() -> None:
    from music21 import meter, note, stream

    part = stream.Part()
    first, second = stream.Measure(number=1), stream.Measure(number=2)
    first.insert(0, meter.TimeSignature("4/4"))
    first.append([note.Note("C5", quarterLength=2), note.Note("E5", quarterLength=4)])  # six beats
    second.append(note.Note("G5", quarterLength=4))
    part.append([first, second])
    text = assert_round_trip(stream.Score([part]))
    assert "\nM:6/4\nc4 e8|\nM:4/4\ng8|" in text


def test_key_change_mid_tune() -> None:
    score = abc(HEADER + "K:C\nf4 f4|f8|\nK:G\nf4 f4|f8|]\n")
    assert pitches(score) == ["F5", "F5", "F5", "F#5", "F#5", "F#5"]
    assert "\nK:G\nf4 f4|f8|]" in assert_round_trip(score)
    assert "\n[V:1][K:G]f4 f4|\n" in assert_round_trip(score, "interleaved")


def test_repeats_and_endings_are_kept() -> None:
    score = abc(HEADER + "K:D\n|:d2 f2 a4|[1 g8:|[2 f8|]\n")
    text = assert_round_trip(score)
    assert re.search(r"\|:d2 f2 a4\|\[1 g8:\|\[2 f8\|\]", text), text


def test_chorale_in_classic_layout(chorale_bytes: bytes) -> None:
    score = parse_score(chorale_bytes, "musicxml")
    text = assert_round_trip(score, "classic")
    for number, name in enumerate(["Soprano", "Alto", "Tenor", "Bass"], 1):
        assert re.search(rf'^V:{number} clef=\w+ name="{name}"$', text, re.MULTILINE)
    assert [p.partName for p in abc(text).parts] == ["Soprano", "Alto", "Tenor", "Bass"]


def test_chorale_in_interleaved_layout(chorale_bytes: bytes) -> None:
    score = parse_score(chorale_bytes, "musicxml")
    text = assert_round_trip(score, "interleaved")
    header, body = text.split("\nK:", 1)
    assert re.findall(r"^V:(\d)", header, re.MULTILINE) == ["1", "2", "3", "4"]
    lines = body.split("\n")[1:-1]
    assert len(lines) == len(score.parts[0].getElementsByClass("Measure"))
    for line in lines:  # one bar per line: [V:1]...|[V:2]...|[V:3]...|[V:4]...|
        assert re.fullmatch(r"(\[V:[1-4]\][^\[\]]*(?:\[[^V][^\]]*\][^\[\]]*)*\|\]?)+", line), line
        assert [int(v) for v in re.findall(r"\[V:(\d)\]", line)] == [1, 2, 3, 4]


def test_two_voices_in_one_part_share_a_staff_and_come_back_as_one_part() -> None:
    from music21 import meter, note, stream

    part = stream.Part()
    for number in range(2):
        measure = stream.Measure(number=number + 1)
        if number == 0:
            measure.insert(0, meter.TimeSignature("2/4"))
        upper, lower = stream.Voice(id="1"), stream.Voice(id="2")
        upper.append([note.Note("E5", quarterLength=1), note.Note("F5", quarterLength=1)])
        lower.append(note.Note("C4", quarterLength=2))
        measure.insert(0, upper)
        measure.insert(0, lower)
        part.append(measure)
    score = stream.Score([part])
    for layout in ("classic", "interleaved"):
        text = assert_round_trip(score, layout)
        assert "%%score (1 2)" in text
        back = abc(text)
        assert len(back.parts) == 1
        assert len(back.parts[0].getElementsByClass("Measure").first().voices) == 2


def test_tempo_change_before_a_repeat_makes_no_empty_bar() -> None:
    score = abc(HEADER + "Q:1/4=90\nK:C\nc8|c8|\nM:2/2\nK:Cm\nQ:1/4=170\n|:e2 f2 g4|c8:|\n")
    for layout in ("classic", "interleaved"):
        text = assert_round_trip(score, layout)
        lengths = [m.duration.quarterLength for m in abc(text).parts[0].getElementsByClass("Measure")]
        assert lengths == [4, 4, 4, 4], text
    assert "[V:1][M:2/2][K:Cm][Q:1/4=170]|:e2 f2 g4|" in text


def test_a_note_after_a_tie_over_the_bar_line_says_when_its_accidental_differs() -> None:
    # ABC 2.1: a note tied over the bar line keeps its accidental, so a plain `c` after
    # `^c-|` would be C sharp; a tie to a different pitch is no tie, and the C is natural
    from music21 import note, stream, tie

    part = stream.Part()
    first, second = stream.Measure(number=1), stream.Measure(number=2)
    sharp = note.Note("C#5", quarterLength=4)
    sharp.tie = tie.Tie("start")
    first.append(sharp)
    second.append(note.Note("C5", quarterLength=4))
    part.append([first, second])
    score = stream.Score([part])
    text = score_to_abc(score)
    assert "^c8-|=c8|" in text
    assert pitches(abc(text)) == ["C#5", "C5"]


def test_a_tune_without_a_meter_survives_musicxml() -> None:
    from musegen_cli.notation.conversion import to_musicxml
    from musegen_cli.notation.fidelity import compare_scores

    score = abc("X:1\nT:free\nM:none\nL:1/16\nK:G\nd2|g4a_bcbbaaggfg4abc4d2b3aaggfg4ag|\n")
    through_xml = parse_score(to_musicxml(score), "musicxml")
    assert compare_scores(score, through_xml).same
    assert "M:none" in score_to_abc(score)
