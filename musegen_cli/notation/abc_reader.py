"""Parsing one ABC tune into a music21 Score, through musegen's own ABC reader.

music21's ABC reader misreads common real-world ABC (repeats without a start, `::`,
accidentals carried through the bar, `P:` play order, decoration shorthands, inline
fields), so musegen reads ABC itself (`musegen_cli.notation.abc`) and builds the music21
Score from what it read. music21 still writes MusicXML and serves the analyzer.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from music21 import stream


def quiet_music21() -> contextlib.AbstractContextManager:
    """Drop what music21 writes to stderr while it works ("messed up beam pair"): notes
    about its own processing, which a user cannot act on and which would land in the
    middle of musegen's output."""
    return contextlib.redirect_stderr(io.StringIO())


def parse_abc(tune: str) -> stream.Score:
    """Parse one ABC tune (text with a single X:) into a Score; `AbcReadError` (a
    UserError naming the tune, line and column) when it is not ABC."""
    from musegen_cli.notation.abc import read_tune
    from musegen_cli.notation.abc.to_music21 import tune_to_score

    with quiet_music21():
        return tune_to_score(read_tune(tune))
