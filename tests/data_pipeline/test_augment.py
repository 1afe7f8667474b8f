import pytest

from musegen_cli.data.augment import (
    parallel_minor_with_stats,
    to_parallel_minor,
    transpose,
    verify_parallel_minor,
    verify_transposition,
)
from musegen_cli.notation.formats import parse_score

# Accidentals that carry through the bar (^G G, =F F), an inline key change, chord symbols,
# a chord, grace notes, a chromatic note (^c) and octave marks.
TUNE = (
    "X:1\nM:4/4\nL:1/8\nK:G\n"
    '"G"GABc dedB|"C"c2 ^c2 "D7"d2 "Em"e2|^G G g G =F F f2|{g}[GBd]2 B,,2 e\'2 z2|\n'
    '[K:D] "D"FAd"A7"c "Bm"B2 "G/B"B2|[K:Em] efga bagf|]\n'
)


def pitches(text):
    return [p.midi for p in parse_score(text.encode(), "abc").flatten().pitches]


def test_parallel_minor_rewrites_notes_key_and_chords():
    result, stats = parallel_minor_with_stats(TUNE)
    lines = result.split("\n")
    assert lines[3] == "K:Gm"
    # B, E and F# are lowered by the new key signature; the chromatic ^c and the carried
    # ^G/=F stay; chords follow the minor scale; the E minor section is left alone.
    assert lines[4] == '"Gm"GABc dedB|"Cm"c2 ^c2 "Dm7"d2 "Eb"e2|^G G g G =F F f2|{g}[GBd]2 B,,2 e\'2 z2|'
    assert lines[5] == '[K:Dm] "Dm"FAd"Am7"c "Bb"B2 "Gm/Bb"B2|[K:Em] efga bagf|]'
    assert stats.changed > 0 and stats.key_sections == 3
    assert verify_parallel_minor(TUNE, result)


def test_parallel_minor_writes_accidentals_where_the_key_no_longer_gives_them():
    tune = "X:1\nL:1/8\nK:C\n_B B b2 =E E ^F F | ^A A e2 c4 |]\n"
    result = to_parallel_minor(tune)
    # Bb was chromatic in C major and is diatonic in C minor; E natural -> Eb; A# stays A#.
    assert result.split("\n")[2] == "K:Cm"
    assert result.split("\n")[3] == "_B B b2 _E E ^F F | ^A A e2 c4 |]"
    assert verify_parallel_minor(tune, result)
    source, minor = pitches(tune), pitches(result)
    # ABC 2.1 reading (accidentals carried through the bar): E E -> Eb Eb, e -> eb; the
    # chromatic Bb and A# stay
    assert [a - b for a, b in zip(source, minor)] == [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0]


def test_parallel_minor_is_a_real_change_not_a_relabel():
    tune = "X:1\nL:1/8\nK:D\n=F2 A2 d2 f2 | e2 c2 d4 |]\n"
    result = to_parallel_minor(tune)
    # K:Dm makes f and c natural; the chromatic =F (already minor) stays; pitches change.
    assert result.split("\n")[2:4] == ["K:Dm", "=F2 A2 d2 f2 | e2 c2 d4 |]"]
    assert pitches(result) != pitches(tune)
    assert verify_parallel_minor(tune, result)


@pytest.mark.parametrize("key", ["K:Am", "K:E dorian", "K:none", "K:Db", "K:D =c"])
def test_parallel_minor_refuses_what_it_cannot_do(key):
    assert to_parallel_minor(f"X:1\nL:1/8\n{key}\nABcd|]\n") is None


def test_multi_voice_tunes_keep_voices_apart():
    tune = "X:1\nL:1/4\nV:1\nV:2\nK:F\n[V:1]^c c f a|[V:2]A, C F c|\n"
    result = to_parallel_minor(tune)
    assert result.split("\n")[5] == "[V:1]^c c f a|[V:2]A, C F c|"  # ^c does not carry into voice 2
    assert verify_parallel_minor(tune, result)


@pytest.mark.parametrize("semitones", [-5, -2, 1, 3, 5])
def test_transposition_moves_every_note_and_round_trips(semitones):
    up = transpose(TUNE, semitones)
    assert verify_transposition(TUNE, up, semitones)
    back = transpose(up, -semitones)
    assert pitches(back) == pitches(TUNE)


def test_transposition_respells_keys_octaves_and_chords():
    result = transpose("X:1\nL:1/8\nK:G\n\"D7\"B,,2 ^c b' =f|]\n", 3)
    assert result == "X:1\nL:1/8\nK:Bb\n\"F7\"D,2 =e d'' _a|]\n"
