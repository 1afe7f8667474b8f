"""Features of hand-checked tunes (tests/data/tunes); the expected values are worked out
by hand in the comments, from the ABC text alone."""

import statistics
from pathlib import Path

import pytest

from musegen_cli.analysis import emotion
from musegen_cli.analysis.features import DEFAULT_TEMPO_QPM, PieceFeatures, analyze_abc, analyze_score
from musegen_cli.notation.formats import parse_score

TUNES = Path(__file__).parents[1] / "data" / "tunes"


def features(name: str) -> PieceFeatures:
    return analyze_abc((TUNES / name).read_text())


def assert_pitches(found: PieceFeatures, midis: list[int]) -> None:
    """Pitch statistics against the MIDI numbers read off the score by hand."""
    assert found.pitch_mean == pytest.approx(statistics.fmean(midis))
    assert found.pitch_sd == pytest.approx(statistics.pstdev(midis))
    assert (found.pitch_low, found.pitch_high) == (min(midis), max(midis))
    assert found.pitch_range == max(midis) - min(midis)


def test_mixolydian_jig_with_pickups_and_endings() -> None:
    found = features("dmix_jig.abc")
    # Bars (eighths): A | dAF DFA | c=BA GBc |1 dAF D2 :|2 dcA d2 || f | g2e fdB | [EGB]3 [DFA]2
    #                  1      6         6          5           5       1     6           5
    assert found.bars == 8
    # Short bars: the pickup A (1/8), both endings and the last bar (5/8 = 6/8 - 1/8) and
    # the second part's pickup f (1/8, after ||, completed by the last bar): all excused.
    assert found.bars_off_meter == 0
    assert found.notes == 29  # 1+6+6+4+4+1+5+2; chord symbols "D" "C" "Em" are not notes
    assert (found.declared_key, found.declared_mode) == ("D mixolydian", "mixolydian")
    assert found.analyzed_key == "G major"  # D mixolydian has G major's pitches
    assert (found.mode, found.mode_source) == ("mixolydian", "declared")
    assert found.meter == "6/8"
    # Q:3/8=80 -> 80 x 3/8 x 4 = 120 quarters per minute.
    assert (found.tempo_qpm, found.tempo_source) == (120.0, "declared")
    # Played (quarters): 0.5 + 2 x (3 + 3) + 2.5 + 2.5 + 0.5 + 3 + 2.5 = 23.5 -> 23.5 / 2 = 11.75 s
    assert found.duration_seconds == pytest.approx(11.75)
    # Played notes: 29 + the repeated bars (6 + 6) = 41 -> 41 / 11.75 = 3.489 notes/s
    assert found.notes_per_second == pytest.approx(41 / 11.75)
    # K:Dmix has C natural: c = 72. Chords count every pitch.
    assert_pitches(
        found,
        [69, 74, 69, 66, 62, 66, 69, 72, 71, 69, 67, 71, 72, 74, 69, 66, 62, 74, 72, 69, 74,
         78, 79, 76, 78, 74, 71, 64, 67, 71, 62, 66, 69],
    )
    assert found.ends_on_tonic_triad is True  # [DFA] = D F# A, D lowest
    # Mixolydian is major-like; 3.49 notes/s is above the band around the threshold.
    assert found.notes_per_second > emotion.AROUSAL_THRESHOLD_NPS + emotion.REGISTER_BAND_NPS
    assert (found.valence, found.arousal, found.quadrant) == ("positive", "high", "Q1")


def test_fast_dorian_reel_is_q2() -> None:
    found = features("ador_reel.abc")
    # |: EAAB cBAG | EGDG EGDG | EAAB cdef | gedB A2A2 :|  = 8+8+8+6 = 30 notes, 4 bars of 4 quarters
    assert (found.notes, found.bars, found.bars_off_meter) == (30, 4, 0)
    assert found.meter == "2/2"  # M:C|
    assert (found.declared_key, found.declared_mode) == ("A dorian", "dorian")
    # Q:1/2=120 -> 240 quarters per minute; 2 x 16 quarters played = 32 -> 8 s; 60 notes -> 7.5/s
    assert found.tempo_qpm == 240.0
    assert found.duration_seconds == pytest.approx(8.0)
    assert found.notes_per_second == pytest.approx(7.5)
    # A dorian: f is F#5 = 78.
    assert_pitches(
        found,
        [64, 69, 69, 71, 72, 71, 69, 67, 64, 67, 62, 67, 64, 67, 62, 67, 64, 69, 69, 71, 72, 74,
         76, 78, 79, 76, 74, 71, 69, 69],
    )
    assert found.ends_on_tonic_triad is True
    assert (found.valence, found.arousal, found.quadrant) == ("negative", "high", "Q2")


def test_slow_major_air_is_q4() -> None:
    found = features("slow_air_f.abc")
    # A2 G|F3|B A G|c3|A B c|d2 c|B A G|F3 = 2+1+3+1+3+2+3+1 = 16 notes in 8 bars of 3/4
    assert (found.notes, found.bars, found.bars_off_meter) == (16, 8, 0)
    # Q:1/4=60; 24 quarters -> 24 s; 16 / 24 = 0.667 notes/s
    assert (found.tempo_qpm, found.duration_seconds) == (60.0, pytest.approx(24.0))
    assert found.notes_per_second == pytest.approx(16 / 24)
    assert_pitches(found, [69, 67, 65, 70, 69, 67, 72, 69, 70, 72, 74, 72, 70, 69, 67, 65])  # B = Bb
    assert found.ends_on_tonic_triad is True
    assert (found.valence, found.arousal, found.quadrant) == ("positive", "low", "Q4")


def test_legacy_tempo_and_an_ending_on_the_dominant() -> None:
    found = features("legacy_tempo_g.abc")
    # Q:160 with L:1/8 -> 160 eighths = 80 quarters per minute; 4 bars x 2 quarters = 8 -> 6 s
    assert (found.tempo_qpm, found.tempo_source) == (80.0, "declared")
    assert found.duration_seconds == pytest.approx(6.0)
    assert found.notes == 11 and found.notes_per_second == pytest.approx(11 / 6)
    assert found.ends_on_tonic_triad is False  # ends on D, the fifth of G: not the tonic


def test_quoted_tempo_text_and_an_ending_on_a_seventh_chord() -> None:
    found = features("ends_on_g7.abc")
    # Q:"Allegro" 1/4=144; 3 bars x 4 quarters = 12 -> 5 s
    assert (found.tempo_qpm, found.duration_seconds) == (144.0, pytest.approx(5.0))
    assert found.notes == 9
    assert found.ends_on_tonic_triad is False  # [G,B,DF] in C


def test_bars_that_disagree_with_the_meter() -> None:
    found = features("off_meter.abc")
    # CDEF | GABcd | cBA | GFED | C2 in 4/4: 4 ok, 5 too long, 3 short mid-tune, 4 ok, and a
    # short last bar with no pickup to complete it -> 3 of 5
    assert (found.bars, found.bars_off_meter) == (5, 3)
    assert found.duration_seconds == pytest.approx(9.0)  # 18 quarters at the default 120
    assert found.tempo_source == "default" and found.tempo_qpm == DEFAULT_TEMPO_QPM


def test_pickup_completed_by_the_last_bar() -> None:
    found = features("pickup_complement.abc")
    # D2 (1 quarter) | 4 | 4 | G6 (3 quarters): 1 + 3 = 4
    assert (found.bars, found.bars_off_meter) == (4, 0)
    assert found.duration_seconds == pytest.approx(6.0)  # 12 quarters


def test_ending_is_judged_in_the_last_declared_key() -> None:
    found = features("modulates_to_em.abc")
    assert found.declared_key == "G major"
    # It closes on E minor's tonic triad, the key in force at the end: that is its mode.
    assert (found.mode, found.mode_source, found.valence) == ("minor", "declared", "negative")
    # Ends on [E,G,B,E]: the tonic chord of E minor (K:Em in the body), E lowest.
    assert found.ends_on_tonic_triad is True
    assert found.pitch_low == 52  # E,


def test_no_declared_mode_falls_back_to_the_analyzed_key() -> None:
    found = features("no_key_a_minor.abc")
    assert (found.declared_key, found.declared_mode) == ("none", None)
    assert found.analyzed_key == "A minor"
    assert (found.mode, found.mode_source) == ("minor", "analyzed")
    assert found.valence == "negative"
    assert found.ends_on_tonic_triad is True  # ends on A, tonic of the analyzed key
    # 10 notes, 4 bars x 3 quarters = 12 quarters = 6 s -> 1.67 notes/s: low arousal
    assert found.quadrant == "Q3"


def test_bare_tonic_with_explicit_flats_is_minor() -> None:
    found = features("g_minor_bare_key.abc")
    # K:G names no mode; the notes (B-flat, E-flat written out) are G minor, and the analysis
    # finds the same tonic, so the analyzed mode wins over ABC's default major.
    assert (found.declared_key, found.declared_mode) == ("G major", "major")
    assert found.analyzed_key == "G minor"
    assert (found.mode, found.mode_source, found.valence) == ("minor", "analyzed", "negative")
    # 3+3+3+1+3+3+3+1 = 20 notes in 8 bars of 3 quarters = 24 quarters = 12 s: 1.67 notes/s
    assert found.notes_per_second == pytest.approx(20 / 12)
    assert found.ends_on_tonic_triad is True and found.quadrant == "Q3"


def test_ties_and_triplets() -> None:
    found = features("ties_triplets.abc")
    # (3DEF G2 | A2-A2 | (3ABA F2 | D4: 4 + 1 (tied) + 4 + 1 = 10 notes; every bar 2 quarters
    assert (found.notes, found.bars, found.bars_off_meter) == (10, 4, 0)
    assert found.duration_seconds == pytest.approx(4.0)


def test_register_breaks_ties_near_the_threshold() -> None:
    # Q:1/4=186 and one note per quarter: 186 / 60 = 3.1 notes/s, inside the band.
    tune = "X:1\nM:4/4\nL:1/4\nQ:1/4=186\nK:C\n{}|{}|]\n"
    low = analyze_abc(tune.format("CDEF", "GFEC"))  # mean 64.75
    high = analyze_abc(tune.format("cdef", "gfec"))  # an octave up: 76.75
    assert low.notes_per_second == pytest.approx(3.1) == high.notes_per_second
    assert abs(3.1 - emotion.AROUSAL_THRESHOLD_NPS) <= emotion.REGISTER_BAND_NPS
    assert low.pitch_mean < emotion.REGISTER_MIDPOINT <= high.pitch_mean
    assert (low.quadrant, high.quadrant) == ("Q4", "Q1")


def test_unparseable_tune_reports_why() -> None:
    found = features("no_key_field.abc")
    assert found.parses is False
    assert "K:" in (found.error or "")
    assert found.title == "Broken: no K: field"
    assert found.notes is None and found.quadrant is None


def test_only_the_first_tune_of_a_text_is_analyzed() -> None:
    found = features("two_tunes.abc")
    assert found.title == "First of two"
    assert found.declared_key == "E minor"


def test_to_dict_has_every_field_in_order() -> None:
    found = features("slow_air_f.abc").to_dict()
    assert list(found)[:3] == ["title", "parses", "error"]
    assert list(found)[-10:] == ["valence", "arousal", "quadrant", "pitch_class_entropy", "scale_consistency",
                                 "repetition", "bar_consistency", "step_share", "leap_share", "duration_entropy"]


def _score(name: str):
    return parse_score((TUNES / name).read_bytes(), "abc")


def test_musicxml_declarations_come_from_the_score(tmp_path: Path) -> None:
    path = _score("slow_air_f.abc").write("musicxml", fp=tmp_path / "air.musicxml")
    found = analyze_score(parse_score(Path(path).read_bytes(), "musicxml"))
    assert (found.notes, found.bars, found.bars_off_meter) == (16, 8, 0)
    assert (found.declared_key, found.tempo_qpm, found.tempo_source) == ("F major", 60.0, "declared")
    assert found.duration_seconds == pytest.approx(24.0)
    assert found.quadrant == "Q4"


def test_midi_declarations_come_from_the_score(tmp_path: Path) -> None:
    path = _score("ador_reel.abc").write("midi", fp=tmp_path / "reel.mid")
    found = analyze_score(parse_score(Path(path).read_bytes(), "midi"))
    # MIDI has no repeat signs: music21 writes the repeat out, so 60 notes in 8 bars.
    assert (found.notes, found.bars) == (60, 8)
    assert found.tempo_qpm == pytest.approx(240.0)
    assert found.duration_seconds == pytest.approx(8.0)
    assert found.declared_mode == "major"  # MIDI keeps only the signature: G major's one sharp
    # The reel ends on A, outside G major's tonic triad: its analyzed A minor gives the
    # valence, as the ABC original's K:Ador does.
    assert (found.mode, found.mode_source, found.quadrant) == ("minor", "analyzed", "Q2")


def test_a_declared_mode_counts_only_when_the_music_closes_in_that_key() -> None:
    # K:Am over C major music that ends on G (not in A minor's triad A C E): the header
    # plan's rewritten K: line cannot make it minor; the analysis (C major) decides.
    found = analyze_abc("X:1\nT:t\nM:4/4\nL:1/8\nK:Am\nCEGc GEC2|DFAc BGD2|CEGc GEC2|G8|]\n")
    assert found.declared_mode == "minor" and found.analyzed_key.endswith("major")
    assert (found.mode, found.mode_source, found.valence) == ("major", "analyzed", "positive")
    closes = analyze_abc("X:1\nT:t\nM:4/4\nL:1/8\nK:Am\nCEGc GEC2|DFAc BGD2|CEGc GEC2|A8|]\n")
    assert (closes.mode, closes.mode_source) == ("minor", "declared")
