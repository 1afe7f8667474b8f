"""benchmarks/imported_speed.py runs end to end at its tiny shape and prints its table."""

from tests.benchmarks import load_benchmark


def test_imported_speed_quick(capsys):
    load_benchmark("imported_speed").main(["--quick", "--patches", "3", "--source-patches", "1"])
    out = capsys.readouterr().out
    assert "source chars/s" in out and out.count("x\n") == 3  # the header and two contexts
