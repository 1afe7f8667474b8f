"""Fixtures for notation tests: real pieces from music21's bundled corpus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from musegen_cli.notation.formats import split_abc_tunes


def _corpus_path(name: str) -> Path:
    from music21 import corpus

    for path in corpus.getCorePaths():
        if path.as_posix().endswith("/corpus/" + name):
            return path
    raise LookupError(name)


@pytest.fixture(scope="session")
def corpus_path() -> Callable[[str], Path]:
    """A file of music21's core corpus by its path inside the corpus, e.g. bach/bwv66.6.mxl."""
    return _corpus_path


@pytest.fixture(scope="session")
def corpus_tune() -> Callable[[str, int], str]:
    """The n-th tune (from 1) of a multi-tune ABC file of the corpus."""

    def tune(name: str, number: int) -> str:
        text = _corpus_path(name).read_text(encoding="utf-8", errors="replace")
        return split_abc_tunes(text)[number - 1]

    return tune


@pytest.fixture(scope="session")
def chorale_bytes() -> bytes:
    """Bach's chorale BWV 66.6: four voices, compressed MusicXML."""
    return _corpus_path("bach/bwv66.6.mxl").read_bytes()
