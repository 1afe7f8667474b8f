"""The field's ABC tools as judges: what abc2abc (abcMIDI's checker) and abcm2ps (the
engraver) say about a tune.

Both are Debian packages (`abcmidi`, `abcm2ps`); when one is not installed its verdict is
None, so callers (the quality benchmark, the tests) can say so and go on. abc2abc writes
its findings into the tune it prints (`%Error : ...`, `%Warning : ...`); abcm2ps writes them
to stderr (`file:6:0: error: Bad tie`). A tool accepts a tune when it reports no error;
warnings (abcm2ps's "Line overfull", abc2abc's "Unexpected :| found" for a repeat from the
top, which ABC 2.1 allows) are returned but do not count against it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TOOLS = ("abc2abc", "abcm2ps")
#: Seconds one tool may take on one tune (a tool that hangs counts as a complaint).
TIMEOUT_S = 30


def available(tool: str) -> bool:
    return shutil.which(tool) is not None


def tool_messages(abc: str, tool: str) -> list[str] | None:
    """The errors and warnings ``tool`` reports for ``abc`` (empty: accepted); None when the
    tool is not installed."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; choose from {', '.join(TOOLS)}")
    path = shutil.which(tool)
    if path is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "tune.abc"
        source.write_text(abc.rstrip("\n") + "\n", encoding="utf-8")
        command = [path, str(source)] if tool == "abc2abc" else [path, "-q", "-O", str(Path(folder) / "out.ps"), str(source)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S,
                                  cwd=folder)
        except subprocess.TimeoutExpired:
            return [f"{tool} did not finish in {TIMEOUT_S} s"]
    if tool == "abc2abc":
        return [line.strip() for line in done.stdout.splitlines() if line.startswith(("%Error", "%Warning"))]
    return [line[line.index(kind) + 2:].strip() for line in done.stderr.splitlines()
            for kind in (": error:", ": warning:") if kind in line]


def is_error(message: str) -> bool:
    return message.startswith("%Error") or message.startswith("error:")


def accepted(abc: str, tool: str) -> bool | None:
    """Whether ``tool`` reports no error for ``abc``; None when it is not installed."""
    messages = tool_messages(abc, tool)
    return None if messages is None else not any(is_error(m) for m in messages)
