"""`musegen train --family muser` and `musegen generate` end to end, and the benchmark."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.registry import reset_registry
from tests.benchmarks import load_benchmark


def invoke(*args: str):
    reset_registry()
    return CliRunner().invoke(app, list(args))


def test_train_generate_and_transfer_through_the_cli(corpus_dataset, corpus_midi, tmp_path):
    model = tmp_path / "m"
    result = invoke("train", "--family", "muser", "--data", str(corpus_dataset), "--preset", "debug",
                    "-o", str(model), "--set", "vae_steps=10", "--set", "prior_steps=5", "--set", "batch_size=4",
                    "--seed", "1", "--device", "cpu")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = invoke("generate", "-m", str(model), "--emotion", "Q3", "-n", "2", "-o", str(out),
                    "--format", "abc,midi,musicxml", "--seed", "2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["pieces"]) == 2 and all(p["features"]["parses"] for p in report["pieces"])
    assert sorted(p.name for p in out.iterdir())[:3] == ["piece-001.abc", "piece-001.mid", "piece-001.musicxml"]
    result = invoke("generate", "-m", str(model), "--from", str(corpus_midi[0]), "--take", "velocity,pitch",
                    "--of", str(corpus_midi[1]), "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "X:1" in result.stdout
    result = invoke("generate", "-m", str(model), "--from", str(corpus_midi[0]), "--take", "timbre",
                    "--of", str(corpus_midi[1]))
    assert result.exit_code == 2 and "cannot take element 'timbre'" in result.output


def test_benchmark_runs_on_a_debug_model(trained, corpus_dataset, capsys):
    module = load_benchmark("muser")
    argv = ["--model", str(trained), "--data", str(corpus_dataset), "--pieces", "4", "--per-quadrant", "1",
            "--pairs", "2", "--json"]
    assert module.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["element"] for r in report["reconstruction"]] == ["rhythm", "pitch", "duration", "velocity"]
    assert all(0 <= r["accuracy"] <= 1 for r in report["reconstruction"])
    assert [r["quadrant"] for r in report["emotion"]] == ["Q1", "Q2", "Q3", "Q4"]
    assert {r["element"] for r in report["transfer"]} == {"rhythm", "pitch", "duration", "velocity"}
    assert all(r["pairs"] == 2 for r in report["transfer"])
