"""benchmarks/evolve.py runs end to end (bundled model, debug scorer, tiny settings)."""

from __future__ import annotations

import json

from musegen_cli.scoring.scorer import build_scorer, save_scorer

from tests.benchmarks import load_benchmark


def test_every_searcher_and_random_search_are_reported(tmp_path, capsys):
    scorer = tmp_path / "scorer"
    save_scorer(build_scorer("debug"), scorer, provenance={}, metrics={})
    report = tmp_path / "evolve.json"
    argv = ["--scorer", str(scorer), "--population", "2", "--generations", "2", "--repeats", "1", "--bars", "2",
            "--json", str(report)]
    assert load_benchmark("evolve").main(argv) == 0
    runs = json.loads(report.read_text())["runs"]
    assert set(runs) == {"ga", "cmaes", "snes", "random"}
    assert runs["random"]["evaluations"] >= max(runs[n]["evaluations"] for n in ("ga", "cmaes", "snes"))
    assert all(0.0 <= r["winners_valid"] <= 1.0 and len(r["best"]) >= 2 for r in runs.values())
    assert "beats random" in capsys.readouterr().out
