"""Restoring bar lines that corpus ABC leaves implicit at line ends.

Essen-style transcriptions end a line at a phrase end and often write no bar line there even
when the bar is complete (`| d4d4` then a new line), so a reader sees one over-long bar. Such
a line end gets a `|` when the notes since the last bar line fill exactly one bar of the
meter. Durations come from `notation.abc_durations`; anything its reader does not
understand leaves the tune untouched.
"""

from __future__ import annotations

import re

from musegen_cli.notation.abc_durations import meter_units, segment_length

def restore_line_end_bars(tune: str) -> str:
    """The tune with `|` added at line ends that close a complete bar (see module doc)."""
    fields = dict(re.findall(r"^([ML]):(.*)$", tune, re.MULTILINE))
    bar = meter_units(fields.get("M", ""), fields.get("L", "1/8"))
    lines = tune.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
    if bar is None or start is None or "V:" in tune or "[M:" in tune or "[L:" in tune:
        return tune
    for i in range(start + 1, len(lines)):
        line = lines[i].rstrip()
        if not line or re.search(r"[|\]:]$", line):
            continue
        pieces = re.split(r"\|+|:\||\|:|::", line)
        tail = pieces[-1]
        length = segment_length(tail)
        if length is None:
            return tune
        opening_pickup = i == start + 1 and len(pieces) == 1
        if length == bar and not opening_pickup:
            lines[i] = line + " |"
    return "\n".join(lines)
