"""Progress without a terminal: silent for quick work, a plain line now and then for long work."""

from __future__ import annotations

import pytest

from musegen_cli.cli import output


def test_quick_work_without_a_terminal_prints_nothing(capsys):
    assert list(output.progress(range(5), total=5, description="counting")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""


def test_long_work_without_a_terminal_logs_plain_lines(capsys, monkeypatch):
    clock = iter(float(t) for t in range(0, 1000, 20))  # each item takes 20 s
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    assert list(output.progress(range(4), total=4, description="tokenizing train.jsonl")) == [0, 1, 2, 3]
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["tokenizing train.jsonl: 2/4 done, 40 s", "tokenizing train.jsonl: 4/4 done, 80 s"]


@pytest.mark.parametrize("total", [None, 3])
def test_logged_lines_say_how_far_along(total, capsys, monkeypatch):
    clock = iter(float(t) for t in range(0, 1000, 40))
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    list(output.progress(range(3), total=total))
    first = capsys.readouterr().err.splitlines()[0]
    assert first == ("working: 1/3 done, 40 s" if total else "working: 1 done, 40 s")
