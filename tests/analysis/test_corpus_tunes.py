"""Real tunes from music21's bundled corpus, counted by hand from their ABC text."""

import pytest
from music21 import corpus

from musegen_cli.analysis.abc_header import parse_abc_header
from musegen_cli.analysis.features import PieceFeatures, analyze_abc
from musegen_cli.notation.formats import split_abc_tunes


def corpus_tune(work: str, number: int) -> PieceFeatures:
    """The tune with reference number X: `number` in a corpus file."""
    text = corpus.getWork(work).read_text(encoding="utf-8", errors="replace")
    (tune,) = [t for t in split_abc_tunes(text) if parse_abc_header(t).number == number]
    return analyze_abc(tune)


def test_oneills_35_john_odwyer_of_the_glen() -> None:
    found = corpus_tune("oneills1850/0001-0050.abc", 35)
    assert found.title == "John O'Dwyer of the Glen"  # setting 1 of 2
    # M:C, K:Amix. Part A: pickup ~d/2e/2 (half a beat) + 4 bars, the last G>BAA A3 = 3.5
    # beats, closed by :| with no |: (so the pickup is repeated too). Part B: pickup A/2-B/2
    # + 8 bars ending G>BAA A3 || (3.5 beats). Both pickups complete a short closing bar.
    assert (found.bars, found.bars_off_meter, found.meter) == (14, 0, "4/4")
    assert (found.declared_key, found.mode, found.mode_source) == ("A mixolydian", "mixolydian", "declared")
    assert found.analyzed_key == "D major"  # A mixolydian has D major's pitches
    assert found.valence == "positive"
    # Notes per bar: 2 7 6 9 5 | 2 11 12 8 7 7 8 9 5 (rolls ~ and graces {gf} are not
    # notes; `A/2-B/2` and `d/2-e/2` tie different pitches, which ABC 2.1 and abc2midi
    # play as two notes) = 98
    assert found.notes == 98
    # Played quarters: 2 x 16 (part A) + 32 (part B) = 64 at 120 -> 32 s;
    # notes: 2 x 29 + 69 = 127 -> 127 / 32 = 3.969 notes/s
    assert found.tempo_source == "default"
    assert found.duration_seconds == pytest.approx(32.0)
    assert found.notes_per_second == pytest.approx(127 / 32)
    assert found.ends_on_tonic_triad is True  # A3
    assert found.quadrant == "Q1"


def test_oneills_47_rory_dalls_sisters_lament() -> None:
    found = corpus_tune("oneills1850/0001-0050.abc", 47)
    assert found.title == "Rory Dall's Sister's Lament"
    # M:3/4, L:1/4, K:Ador: 7 lines of 4 bars, every one 3 beats (e.g. A> (BA/2B/2) =
    # 1.5 + 0.5 + 0.5 + 0.5); no repeats -> 84 quarters = 42 s at the default tempo.
    assert (found.bars, found.bars_off_meter, found.meter) == (28, 0, "3/4")
    assert (found.declared_key, found.declared_mode, found.valence) == ("A dorian", "dorian", "negative")
    assert found.duration_seconds == pytest.approx(42.0)
    assert found.ends_on_tonic_triad is True  # ~B2 A ||


def test_essen_hildebrandslied_has_line_ends_without_bar_lines() -> None:
    found = corpus_tune("essenFolksong/altdeu10.abc", 1)
    assert found.title == "Das Hildebrandslied"
    # M:4/2 (8 quarters), L:1/4, K:G. Essen's ABC breaks lines at phrase ends without a bar
    # line, so `d4d4` + `z2d4d2` is one written bar of 16 quarters: 5 such bars. The pickup
    # G2 (2) and the last bar G6 (6) make a full bar together.
    assert (found.bars, found.bars_off_meter) == (17, 5)
    # `K: G` names no mode (Essen never does). `_B2B2`: ABC 2.1 carries the flat to the
    # second B (music21's own reader did not), so the tune is in G minor, as analysed.
    assert found.declared_key == "G major" and found.analyzed_key == "G minor"
    assert (found.mode, found.mode_source) == ("minor", "analyzed")
    assert found.ends_on_tonic_triad is True
