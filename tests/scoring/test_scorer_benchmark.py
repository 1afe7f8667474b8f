"""benchmarks/scorer.py runs end to end on a tiny dataset and a debug scorer."""

from __future__ import annotations

import json

import pytest

from musegen_cli.scoring.scorer import build_scorer, save_scorer

from tests.benchmarks import load_benchmark


def test_auc_counts_pairs_and_ties():
    bench = load_benchmark("scorer")
    assert bench.auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert bench.auc([1.0], [2.0]) == 0.0
    assert bench.auc([1.0, 3.0], [2.0, 1.0]) == pytest.approx(0.625)


def test_the_benchmark_reports_every_measure(scorer_data, tmp_path, capsys):
    bench = load_benchmark("scorer")
    folder = tmp_path / "scorer"
    save_scorer(build_scorer("debug"), folder, provenance={}, metrics={})
    report_path = tmp_path / "report.json"
    argv = ["--data", str(scorer_data), "--scorer", str(folder), "--pieces", "4", "--generated", "4",
            "--min-collection", "2", "--threads", "1", "--json", str(report_path)]
    assert bench.main(argv) == 0
    report = json.loads(report_path.read_text())
    assert report["retrieval"]["pieces"] == 4 and 0 <= report["retrieval"]["top5"] <= 1
    assert [row["collection"] for row in report["reference_auc"]] == ["oneills1850"]  # the only one in test
    assert report["generated"]["pieces"] == 4
    assert report["emotion"]["pieces"] == 4 and report["speed"]["pieces_per_s"] > 0
    assert "goals met" in capsys.readouterr().out
