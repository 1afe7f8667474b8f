"""The benchmarks run end to end (tiny model, seconds)."""

from __future__ import annotations

import json
import shutil

from tests.benchmarks import load_benchmark


def test_generation_speed_quick(capsys):
    bench = load_benchmark("generation_speed")
    # The compiled path needs a C++ compiler (torch.compile on the CPU).
    paths = [p for p in bench.PATHS if p != "compiled" or shutil.which("c++") or shutil.which("g++")]
    assert bench.main(["--quick", "--preset", "debug", "--contexts", "8", "--batches", "1,2",
                       "--paths", ",".join(paths), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["rows"]
    assert {(r["batch"], r["path"]) for r in rows} == {(b, p) for b in (1, 2) for p in paths}
    assert all(r["chars"] > 0 and r["chars_per_s"] > 0 and r["peak_rss_mb"] > 0 for r in rows)
    assert all(r["same_text"] for r in rows if r["path"] == "fp32")
    assert report["products_only_chars_per_s"] > 0


def test_generation_speed_prompt_fills_exact_patches():
    bench = load_benchmark("generation_speed")
    for patches in (2, 3, 8, 64, 257):
        bench.prompt_of(patches, 16)  # raises if the count is off


def test_generation_quality_quick(tmp_path, capsys):
    """The bundled model, one piece per quadrant, with and without the header plan."""
    bench = load_benchmark("generation_quality")
    data = tmp_path / "data"
    data.mkdir()
    record = {"id": "t1", "abc": "X:1\nM:4/4\nL:1/8\nK:G\nGABc dBAG|FGAB cAFD|\n", "split": "train"}
    (data / "train.jsonl").write_text(json.dumps(record) + "\n")
    held_out = {"id": "t2", "abc": "X:2\nT:t\nM:6/8\nL:1/8\nK:D\nA|dfa afd|B2A A2|]\n", "split": "test"}
    (data / "test.jsonl").write_text(json.dumps(held_out) + "\n")
    for prompt_only in (False, True):
        out = tmp_path / f"q{prompt_only}.json"
        argv = ["--per-quadrant", "1", "--modes", "Emotion", "--batch", "4", "--bars", "2", "--device", "cpu",
                "--data", str(data), "--json", str(out), "--by-itself", "0" if prompt_only else "1"]
        argv += ["--prompt-only"] if prompt_only else []
        assert bench.main(argv) == 0
        report = json.loads(out.read_text())
        assert report["settings"]["prompt_only"] is prompt_only
        assert [r["quadrant"] for r in report["rows"]] == ["Q1", "Q2", "Q3", "Q4"]
        assert report["total"]["n"] == 4 and report["reference"]["pieces"] == 1
        planned = [p for p in report["pieces"] if "\nQ:" in p["abc"]]
        assert len(planned) == 4 or prompt_only
        cells = (report["by_itself"] or {}).get("cells", {})
        assert prompt_only or (len(cells) == 18 and all(0 <= share <= 1 for share in cells.values()))
        assert all("step_share" in p["features"] for p in report["pieces"])
        assert report["like_real_tunes"]["corpus"] == 1 and len(report["like_real_tunes"]["features"]) == 7
    assert "quadrant accuracy" in capsys.readouterr().out


def test_memory_counts_notagen_shapes_as_published():
    bench = load_benchmark("memory")
    small = bench.preset_memory("notagen-small")
    # NotaGen publishes 110M / 244M / 516M parameters for its three sizes
    assert round(small["parameters"] / 1e6) == 110
    assert round(bench.preset_memory("notagen-medium")["parameters"] / 1e6) == 244
    assert round(bench.preset_memory("notagen-large")["parameters"] / 1e6) == 516
    assert small["weights"]["fp32"] == 4 * small["parameters"] == 2 * small["weights"]["bf16"]
    assert small["weights"]["int8"] < small["weights"]["bf16"]
    # 12 + 3 layers of keys and values, 768 wide: 2048 patches, and the patch state plus 16
    # characters
    assert small["cache"]["fp32"] == 2 * 4 * 768 * (12 * 2048 + 3 * 17)
    one_row = bench.preset_memory("small")["cache"]["fp32"]
    assert bench.preset_memory("small", batch=4)["cache"]["fp32"] == 4 * one_row
