"""ABC text in and out: split tunes into a header (M:, L:, K:) and a list of bars.

A bar here is the text between two bar lines *with its closing bar line*, spaces tidied:
`"E4F2=G3FE2 |"`, `"|: GABc dedB |"`, `"G2G2 G2z2 :|"`. Keeping the bar line in the bar means
repeats and endings survive the round trip through the Markov chain without a grammar.

This module is plain Python (no torch, no music21), so the model stays readable and fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from musegen_cli.plugin import split_abc_tunes

#: The header fields a generated tune needs; together they make a tune's "template".
TEMPLATE_FIELDS = ("M", "L", "K")


# A bar line: |, ||, |], [|, :|, |:, ::, :||:, ... optionally followed by an ending number
# (|1, :|2, |[1). A `[` that opens a chord or an inline field is not followed by `|`.
_BARLINE = re.compile(r"(?:\[\||::|:*\|[|\]]?:*)(?:\[?[0-9][0-9,\-]*|\s+\[[0-9][0-9,\-]*)?")
_FIELD_LINE = re.compile(r"^([A-Za-z+]):(.*)$")
# Fields inside the tune body that change what the bars mean; tunes using them are skipped
# (an order-N chain over bars cannot follow a key change or a second voice).
_BODY_CHANGES = re.compile(r"^[KLMV]:|\[[KLMV]:")


def default_unit(meter: str) -> str:
    """The L: the ABC standard implies when a tune gives none: 1/16 below 3/4, else 1/8."""
    meter = {"C": "4/4", "C|": "2/2"}.get(meter, meter)
    top, _, bottom = meter.partition("/")
    try:
        return "1/16" if int(top) / int(bottom) < 0.75 else "1/8"
    except (ValueError, ZeroDivisionError):
        return "1/8"


@dataclass(frozen=True)
class Tune:
    title: str
    header: dict[str, str]  # "M", "L", "K" -> value
    bars: tuple[str, ...]

    @property
    def template(self) -> tuple[str, str, str]:
        return tuple(self.header.get(name, "") for name in TEMPLATE_FIELDS)  # type: ignore[return-value]


def read_tunes(text: str) -> tuple[list[Tune], int]:
    """Every usable tune in an ABC text, and how many were skipped as unusable."""
    tunes, skipped = [], 0
    for tune_text in split_abc_tunes(text):
        tune = parse_tune(tune_text)
        if tune is None or not tune.bars:
            skipped += 1
        else:
            tunes.append(tune)
    return tunes, skipped


def parse_tune(text: str, *, require_key: bool = True) -> Tune | None:
    """One tune's header and bars; None for a tune with key, meter or voice changes in its
    body, or (unless `require_key` is false: bars alone, as a prime may be) without a K: line.
    """
    header: dict[str, str] = {}
    title = ""
    body_lines: list[str] = []
    loose_lines: list[str] = []  # music without a header: used only when there is no K: line
    in_body = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.split("%", 1)[0].rstrip() if not raw.startswith("%%") else ""
        if not line.strip():
            continue
        if not in_body:
            field = _FIELD_LINE.match(line)
            if field is None:
                loose_lines.append(line.rstrip("\\"))
                continue
            name, value = field.group(1), field.group(2).strip()
            if name == "T" and not title:
                title = value
            elif name in TEMPLATE_FIELDS:
                header[name] = " ".join(value.split())
            if name == "K":
                in_body = True  # K: ends the header
            continue
        if _BODY_CHANGES.search(line):
            return None
        if _FIELD_LINE.match(line):
            continue  # lyrics (w:), notes (N:), parts (P:) ... do not change the bars
        body_lines.append(line.rstrip("\\"))
    if not in_body:
        if require_key or any(_BODY_CHANGES.search(line) for line in loose_lines):
            return None
        body_lines = loose_lines
    else:  # what the ABC standard implies for fields a tune leaves out
        header.setdefault("M", "none")
        header.setdefault("L", default_unit(header["M"]))
    return Tune(title=title, header=header, bars=tuple(split_bars(" ".join(body_lines))))


def split_bars(body: str) -> list[str]:
    """The bars of a tune body, each ending in its bar line (see the module docstring)."""
    bars: list[str] = []
    pending = ""  # a bar line that opens the next bar, e.g. the `|:` at the very start
    position = 0
    for match in _BARLINE.finditer(body):
        notes = " ".join(body[position : match.start()].split())
        barline = " ".join(match.group().split())
        position = match.end()
        if notes:
            bars.append(f"{pending}{' ' if pending else ''}{notes} {barline}")
            pending = ""
        elif barline == "|" and not pending:
            continue  # `| |`, or a line ending and the next starting with `|`: one bar line
        else:  # nothing since the last bar line: this one opens the next bar (`|:` at the start)
            pending = f"{pending}{barline}"
    notes = " ".join(body[position:].split())
    if notes:  # a last bar without a closing bar line
        bars.append(f"{pending}{' ' if pending else ''}{notes} |]")
    return bars


def format_tune(
    index: int,
    title: str,
    header: dict[str, str],
    bars: list[str],
    *,
    then: tuple[dict[str, str], list[str]] | None = None,
    bars_per_line: int = 4,
) -> str:
    """An ABC tune: X:, T:, M:, L:, K: then the bars, a few to a line.

    `then` appends more bars under another header (a continuation in another key or meter):
    the fields that differ are written as field lines in the body before those bars.
    """
    sections = [(bars, [])]
    if then is not None and then[1]:
        changed = [f"{name}:{value}" for name, value in then[0].items() if header.get(name) != value]
        sections.append((then[1], changed))
    last = max(i for i, (section, _) in enumerate(sections) if section) if any(s for s, _ in sections) else None
    lines = [f"X:{index}", f"T:{title}"] + [f"{name}:{header[name]}" for name in TEMPLATE_FIELDS]
    for number, (section, fields) in enumerate(sections):
        section = list(section)
        if number == last and section[-1].endswith(" |"):
            section[-1] = section[-1][:-1] + "|]"  # close the tune with a final bar line
        lines += fields
        lines += [" ".join(section[i : i + bars_per_line]) for i in range(0, len(section), bars_per_line)]
    return "\n".join(lines) + "\n"
