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
