"""Written ABC bars, read from tokens rather than music21's re-barred measures."""

from musegen_cli.analysis.abc_bars import read_abc_bars
from musegen_cli.analysis.bars import off_meter_bars, play_counts

HEAD = "X:1\nM:4/4\nL:1/4\nK:C\n"


def lengths(body: str, head: str = HEAD) -> list[float]:
    (voice,) = read_abc_bars(head + body)
    return [bar.length for bar in voice]


def test_overlong_bars_stay_whole() -> None:
    # music21's translator would split both into bars that look correct.
    assert lengths("CDEF|GABcd|C8|C4|]\n") == [4, 5, 8, 4]


def test_durations_apply_broken_rhythm_tuplets_and_skip_grace_notes() -> None:
    head = "X:1\nM:2/4\nL:1/8\nK:D\n"
    # (3DEF = 3 eighths in the time of 2 = 1 quarter; G2 = 1 quarter   -> 2
    # {ag}(3::2A2B = (1 + 0.5) x 2/3 = 1; A>F = 0.75 + 0.25 = 1       -> 2
    # z4 rest = 2
    assert lengths("(3DEF G2|{ag}(3::2A2B A>F|z4|]\n", head) == [2.0, 2.0, 2.0]


def test_fermata_shorthand_keeps_its_note() -> None:
    # music21 drops the note after `H`; bar 1 must still be f4 e2 A2 = 8 sixteenths = 2 quarters.
    (voice,) = read_abc_bars("X:1\nM:2/4\nL:1/16\nK:D\nHf4 e2A2|f2Ha2 z4|]\n")
    assert [(bar.length, bar.notes) for bar in voice] == [(2.0, 3), (2.0, 2)]


def test_notes_count_attacks_only() -> None:
    head = "X:1\nM:2/4\nL:1/8\nK:D\n"
    (voice,) = read_abc_bars(head + 'A2-A2|"D"[DFA]2 z2|{g}B4|]\n')
    # tie continuation, rest, chord symbol and grace note are not attacks; a chord is one.
    assert [bar.notes for bar in voice] == [1, 1, 1]


def test_repeat_signs_and_endings() -> None:
    (voice,) = read_abc_bars(HEAD + "C4|:D4|[1 E4:|[2 F4||G4::A4:|:B4:|]\n")
    assert [bar.starts_repeat for bar in voice] == [False, True, False, False, False, True, True]
    assert [bar.repeat_end for bar in voice] == [0, 0, 2, 0, 2, 2, 2]
    assert [bar.volta for bar in voice] == [None, None, 1, 1, None, None, None]
    #   C once; |: D [1 E :| -> D twice, E once; [2 F once; G :: -> G twice (from after
    #   the first :|, through || which is no repeat sign); A and B each twice.
    assert play_counts(voice) == [1, 2, 1, 1, 2, 2, 2]


def test_bar_lines_split_across_lines_mark_the_previous_bar() -> None:
    (voice,) = read_abc_bars(HEAD + "C4|D4|\n:|E4|\n|:F4:|\n")
    assert [bar.repeat_end for bar in voice] == [0, 2, 0, 2]
    assert [bar.starts_repeat for bar in voice] == [False, False, False, True]
    # C D :| -> twice from the start; E sits between :| and |: -> once; |: F :| -> twice.
    assert play_counts(voice) == [2, 2, 1, 2]


def test_meter_changes_in_the_body_and_inline() -> None:
    (voice,) = read_abc_bars(HEAD + "C4|\nM:3/4\nD3|[M:2/4] E2|]\n")
    assert [bar.expected for bar in voice] == [4.0, 3.0, 2.0]
    assert off_meter_bars(voice) == []


def test_no_meter_means_no_expected_length() -> None:
    (voice,) = read_abc_bars("X:1\nM:none\nL:1/4\nK:C\nCDEFG|AB|]\n")
    assert [bar.expected for bar in voice] == [None, None]


def test_missing_unit_length_follows_the_standard() -> None:
    # No L: and no M: -> L:1/8 (music21 alone refuses this tune).
    (voice,) = read_abc_bars("X:1\nK:C\nCDEF GABc|\n")
    assert [bar.length for bar in voice] == [4.0]


def test_each_voice_has_its_own_bars() -> None:
    voices = read_abc_bars("X:1\nM:2/4\nL:1/8\nK:D\nV:1\nD4|E4|]\nV:2\nA,4|B,2C2|D4|]\n")
    assert [len(voice) for voice in voices] == [2, 3]
    assert [voice[1].notes for voice in voices] == [1, 2]


def test_interleaved_voices_are_read_apart_each_with_its_pickup() -> None:
    tune = "X:1\nM:3/4\nL:1/4\nV:1\nV:2\nK:C\n[V:1]c|[V:2]C|[V:1]c d e|[V:2]C D E|\n"
    voices = read_abc_bars(tune)
    assert [[bar.length for bar in voice] for voice in voices] == [[1.0, 3.0], [1.0, 3.0]]
    assert [off_meter_bars(voice) for voice in voices] == [[], []]


def test_an_inline_unit_length_counts() -> None:
    assert lengths("cdef|[L:1/16]cdefgabc|\n", "X:1\nM:2/4\nL:1/8\nK:C\n") == [2.0, 2.0]
