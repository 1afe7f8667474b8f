"""The "like real tunes" and "by itself" tables of generation_quality (benchmarks/likeness.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.benchmarks import load_benchmark

likeness = load_benchmark("likeness")


def test_overlap_area_of_equal_disjoint_and_half_shared_sets():
    assert likeness.overlap_area([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert likeness.overlap_area([0.0] * 10, [10.0] * 10) == pytest.approx(0.0)
    # integer bins of width 1: {1, 2} against {2, 3} share half of each
    assert likeness.overlap_area([1, 2], [2, 3], integer=True) == pytest.approx(0.5)
    assert likeness.overlap_area([5.0, 5.0], [5.0]) == 1.0
    assert likeness.overlap_area([], [1.0]) is None


def test_one_outlier_does_not_squash_the_histogram():
    corpus = [float(x % 10) for x in range(200)]
    generated = corpus[:199] + [10_000.0]
    assert likeness.overlap_area(generated, corpus) > 0.95


def piece(**values):
    base = {"parses": True, "ends_in_tonic_triad": True, "ends_on_tonic": True}
    base.update({name: 1.0 for name in likeness.OA_FEATURES})
    return SimpleNamespace(**{**base, **values})


def test_like_real_tunes_counts_unparsed_pieces_against_the_endings():
    generated = [piece(), piece(ends_in_tonic_triad=False, ends_on_tonic=False), SimpleNamespace(
        parses=False, ends_in_tonic_triad=None, ends_on_tonic=None, **{n: None for n in likeness.OA_FEATURES})]
    table = likeness.like_real_tunes(generated, [piece(), piece()])
    assert table["endings"]["tonic_triad_ending"] == {"generated": pytest.approx(1 / 3), "corpus": 1.0}
    assert table["mean_overlap"] == pytest.approx(1.0) and table["min_overlap"] == pytest.approx(1.0)
    goals = dict((name, met) for name, met, _shown in likeness.likeness_goals(table))
    assert goals["tonic-triad endings within 5 points of the corpus"] is False
    assert goals["mean OA >= 0.85"] is True


def test_by_itself_asks_one_condition_at_a_time():
    asked = []

    def generate(conditions, count, seed):
        asked.append(conditions)
        (kind, value), = conditions.items()
        held = value != "minor"  # the fake model never writes minor
        return [SimpleNamespace(held=[SimpleNamespace(name=kind, held=held)]) for _ in range(count)]

    held = likeness.run_by_itself(generate, 2, 0)
    assert len(asked) == len(likeness.by_itself_cells()) and all(len(c) == 1 for c in asked)
    summary = likeness.by_itself_summary(held)
    assert summary["cells"]["mode=minor"] == 0.0 and summary["cells"]["mode=major"] == 1.0
    assert summary["kinds"]["mode"] == 0.5 and summary["kinds"]["meter"] == 1.0
