"""The benchmarks run end to end (tiny model, seconds)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generation_speed_quick(capsys):
    bench = _load("generation_speed")
    assert bench.main(["--quick", "--preset", "debug", "--contexts", "8", "--batches", "1,2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["rows"]
    assert {(r["batch"], r["path"]) for r in rows} == {(b, p) for b in (1, 2) for p in bench.PATHS}
    assert all(r["chars"] > 0 and r["chars_per_s"] > 0 and r["peak_rss_mb"] > 0 for r in rows)
    assert all(r["same_text"] for r in rows if r["path"] == "fp32")


def test_generation_speed_prompt_fills_exact_patches():
    bench = _load("generation_speed")
    for patches in (2, 3, 8, 64, 257):
        bench.prompt_of(patches, 16)  # raises if the count is off
