"""Titles for generated pieces: every piece gets a `T:` line, so engravings and files name it.

A title says what was asked for and what the header declares: the period and
instrumentation when given ("Romantic keyboard piece"), else the dance its meter implies in
the folk tradition the models learn from ("Jig" for 6/8), then the key ("in D minor"). A
piece whose header has a title already (a prime's own) keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from musegen_cli.notation.abc.fields import read_key
from musegen_cli.notation.abc.text import strip_comment

#: Meter -> the tune type it usually means in folk collections.
DANCES = {"6/8": "Jig", "9/8": "Slip jig", "12/8": "Slide", "2/4": "Polka", "3/4": "Waltz", "3/2": "Hornpipe",
          "4/4": "Reel", "C": "Reel", "2/2": "Reel", "C|": "Reel"}
_TITLE = re.compile(r"^T:\s*\S", re.MULTILINE)


def title_for(conditions: Mapping[str, str], header: str) -> str:
    """A title from the conditions and the header's `M:` and `K:` lines."""
    fields = dict(re.findall(r"^([MK]):(.*)$", header, re.MULTILINE))
    described = [conditions[name] for name in ("period", "instrumentation") if conditions.get(name)]
    if described:
        kind = " ".join([described[0], *(word.lower() for word in described[1:]), "piece"])
    else:
        kind = DANCES.get(fields.get("M", "").strip(), "Tune")
    written = strip_comment(fields.get("K", "")).strip()
    key = read_key(written)
    if key.tonic:
        kind += f" in {written}" if key.unknown_mode else f" in {key.tonic} {key.mode}"
    if conditions.get("composer"):
        kind += f", after {conditions['composer']}"
    return kind


def with_title(header: str, conditions: Mapping[str, str]) -> str:
    """``header`` (the lines after `X:`) with a `T:` line first, unless it has one."""
    if _TITLE.search(header):
        return header
    return f"T:{title_for(conditions, header)}\n{header}"
