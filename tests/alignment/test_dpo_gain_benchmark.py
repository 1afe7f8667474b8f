"""benchmarks/dpo_gain.py runs end to end on tiny settings (test family, debug scorer)."""

import importlib.util
import json
import sys
from pathlib import Path

from musegen_cli import registry
from tests.alignment import canned

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "dpo_gain.py"


def test_dpo_gain_tiny(tmp_path, monkeypatch, capsys, scorer_dir):
    reg = registry.Registry()
    reg.register(canned.family())
    monkeypatch.setattr(registry, "_registry", reg)
    start = canned.make_model(tmp_path / "start")
    music = tmp_path / "ref"
    music.mkdir()
    (music / "a.abc").write_text(canned.POOL[2])
    spec = importlib.util.spec_from_file_location("dpo_gain", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["dpo_gain"] = bench
    spec.loader.exec_module(bench)
    argv = ["--model", str(start), "--scorer", str(scorer_dir), "--samples", "4", "--emotion-iterations", "1",
            "--reference-iterations", "1", "--reference", str(music), "--lr", "1e-3", "--device", "cpu",
            "--work", str(tmp_path / "work"), "--json"]
    assert bench.main(argv) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["sampled_from"] for r in runs["emotion"]] == ["start", "iter-1"]
    assert [r["sampled_from"] for r in runs["reference"]] == ["start", "iter-1"]
    assert all(r["mean_reward"] is not None for rows in runs.values() for r in rows)
    assert bench.main(argv[:-1]) == 0  # resumes the finished runs and prints the table
    assert "dpo gain per iteration" in capsys.readouterr().out
