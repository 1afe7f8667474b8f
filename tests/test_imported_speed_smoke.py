"""benchmarks/imported_speed.py runs end to end at its tiny shape and prints its table."""

from tests.benchmarks import load_benchmark


def test_imported_speed_quick(capsys):
    load_benchmark("imported_speed").main(["--quick", "--patches", "3", "--source-patches", "1", "--batches", "1,2"])
    out = capsys.readouterr().out
    assert "source chars/s" in out and "% compute bound" in out
    rows = [line.split() for line in out.splitlines() if line.strip().endswith("%")]
    assert [row[1] for row in rows] == ["1", "2", "1", "2"]  # two contexts, two batches each
