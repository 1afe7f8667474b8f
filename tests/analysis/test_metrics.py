"""Music metrics on hand-made input, and on parsed tunes through the analyzer."""

from __future__ import annotations

import math

import pytest

from musegen_cli.analysis import metrics
from musegen_cli.analysis.features import analyze_abc


def test_pitch_class_entropy_counts_classes_not_octaves():
    assert metrics.pitch_class_entropy([60, 72, 84]) == 0.0
    assert metrics.pitch_class_entropy(list(range(60, 72))) == pytest.approx(math.log2(12))
    assert metrics.pitch_class_entropy([60, 62]) == pytest.approx(1.0)
    assert metrics.pitch_class_entropy([]) is None


def test_scale_consistency_is_the_best_diatonic_fit():
    c_major = [60, 62, 64, 65, 67, 69, 71]
    assert metrics.scale_consistency(c_major) == 1.0
    assert metrics.scale_consistency([57, 59, 60, 62, 64, 65, 67]) == 1.0  # A natural minor
    assert metrics.scale_consistency(c_major + [61]) == pytest.approx(7 / 8)
    assert metrics.scale_consistency(list(range(60, 72))) == pytest.approx(7 / 12)
    assert metrics.scale_consistency([]) is None


def test_repetition_is_per_part_and_skips_empty_bars():
    assert metrics.repetition([["a", "b", "a", None, "a"]]) == pytest.approx(2 / 4)
    assert metrics.repetition([["a", "b"], ["a", "c"]]) == 0.0  # same bar in another part is not a repeat
    assert metrics.repetition([[None, None]]) is None


def test_bar_consistency():
    assert metrics.bar_consistency(8, 2) == 0.75
    assert metrics.bar_consistency(0, 0) is None and metrics.bar_consistency(4, None) is None


def test_the_analyzer_reports_the_metrics():
    repeated = analyze_abc("X:1\nM:4/4\nL:1/8\nK:G\nGABc dBAG|GABc dBAG|FGAB cAFD|G8|]\n")
    assert repeated.repetition == pytest.approx(1 / 4) and repeated.scale_consistency == 1.0
    assert repeated.bar_consistency == 1.0 and 2.0 < repeated.pitch_class_entropy < 3.0
    chromatic = analyze_abc("X:1\nM:3/4\nL:1/4\nK:C\nC ^C D|^D E F|^F G ^G|\n")
    assert chromatic.scale_consistency < 0.7 and chromatic.repetition == 0.0
    off = analyze_abc("X:1\nM:4/4\nL:1/4\nK:C\nCDEF|GAB|cdef|\n")
    assert off.bar_consistency == pytest.approx(2 / 3)


def test_steps_and_leaps_are_counted_within_each_melody():
    # C D E G | C: two steps, one leap of a third, then a new melody (no interval across)
    assert metrics.step_share([[60, 62, 64, 67], [60]]) == pytest.approx(2 / 3)
    assert metrics.leap_share([[60, 62, 64, 67], [60]]) == pytest.approx(1 / 3)
    assert metrics.step_share([[60, 60, 61]]) == pytest.approx(1 / 2)  # a repeated note is neither
    assert metrics.leap_share([[60, 60, 61]]) == 0.0
    assert metrics.step_share([[60]]) is None and metrics.leap_share([]) is None


def test_duration_entropy():
    assert metrics.duration_entropy([0.5, 0.5, 0.5]) == 0.0
    assert metrics.duration_entropy([0.5, 1.0]) == pytest.approx(1.0)
    assert metrics.duration_entropy([1 / 3, 1 / 3 + 1e-9, 1.0, 2.0]) == pytest.approx(1.5)
    assert metrics.duration_entropy([]) is None


def test_the_analyzer_reads_the_melody_of_each_part():
    # G A B c d2 B G | A4 G4: 6 steps of 8 intervals, 2 leaps (d-B, B-G); lengths 1/2 x6, 1, 2 x2
    tune = analyze_abc("X:1\nT:t\nM:4/4\nL:1/8\nK:G\nGABc d2BG|A4 G4|]\n")
    assert tune.step_share == pytest.approx(6 / 8) and tune.leap_share == pytest.approx(2 / 8)
    assert tune.duration_entropy == pytest.approx(-(6 / 9 * math.log2(6 / 9) + 1 / 9 * math.log2(1 / 9)
                                                    + 2 / 9 * math.log2(2 / 9)))
    chord = analyze_abc("X:1\nT:t\nM:2/4\nL:1/4\nK:C\n[CE] [DG]|[Ec]2|]\n")  # top notes E G c
    assert chord.step_share == 0.0 and chord.leap_share == 1.0
