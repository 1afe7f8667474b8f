"""benchmarks/steering.py runs end to end on a debug model and a tiny dataset."""

from __future__ import annotations

import json

from tests.benchmarks import load_benchmark


def test_probe_and_steering_tables(cli_model, mode_folders, tmp_path):
    from musegen_cli.analysis.labels import label_abc

    records = [{"abc": path.read_text(), "labels": {**label_abc(path.read_text()), "mode": mode}, "split": "train"}
               for mode, folder in mode_folders.items() for path in sorted(folder.glob("*.abc"))]
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = tmp_path / "steer.json"
    bench = load_benchmark("steering")
    argv = ["--model", str(cli_model), "--data", str(data), "--concepts", "mode", "--pieces", "20",
            "--samples", "2", "--strengths", "4", "--bars", "2", "--pooling", "last", "--json", str(report)]
    assert bench.main(argv) == 0
    found = json.loads(report.read_text())
    assert set(found["probes"]) == {"mode"} and 0 <= found["probes"]["mode"]["rfm"] <= 1
    assert set(found["steering"]) == {"mode major->minor", "mode minor->major"}
    assert [row["strength"] for row in found["steering"]["mode major->minor"]] == [0.0, 4.0]
    assert found["probes"]["mode"]["pooling"] == "last"


def test_pooling_is_chosen_per_concept():
    import pytest

    from musegen_cli.errors import UserError

    bench = load_benchmark("steering")
    assert bench.pooling_per_concept("last", ["mode", "register"]) == {"mode": "last", "register": "last"}
    assert bench.pooling_per_concept("mode=last", ["mode", "register"]) == {"mode": "last", "register": "mean"}
    for bad in ("mode=max", "tempo=last", "first"):
        with pytest.raises(UserError):
            bench.pooling_per_concept(bad, ["mode", "register"])
