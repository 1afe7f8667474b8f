"""benchmarks/training_copies.py runs end to end (bundled model, a two-tune dataset, one bar)."""

from __future__ import annotations

import json

from tests.benchmarks import load_benchmark


def test_the_copy_check_is_timed_against_generation(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    tunes = ["X:1\nM:4/4\nL:1/8\nK:G\nGABc dBAG|FGAB cAFD|\n", "X:1\nM:6/8\nL:1/8\nK:D\nDFA dAF|GBd gdB|\n"]
    (data / "train.jsonl").write_text("".join(json.dumps({"id": f"t{i}", "abc": t}) + "\n" for i, t in enumerate(tunes)))
    report = tmp_path / "copies.json"
    argv = ["--data", str(data), "--pieces", "1", "--bars", "1", "--json", str(report)]
    assert load_benchmark("training_copies").main(argv) == 0
    figures = json.loads(report.read_text())
    assert figures["training_pieces"] == 2 and 0.0 < figures["share"] < 1.0
    assert figures["index_seconds"] > 0 and figures["generation_seconds_per_piece"] > 0
    assert "read + index" in capsys.readouterr().out
