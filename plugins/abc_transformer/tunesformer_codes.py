"""TunesFormer's form control codes ``S:`` ``B:`` ``E:`` (sander-wood/tunesformer, which
EMusicGen's data inherits): how its data preparation computes them from a tune, and how
musegen's conditions ``sections``, ``section_bars`` and ``similarity`` write them.

The codes stand before the tune's header, in this order: ``S:n`` (the number of sections),
then for each section ``k`` (1-based) first one ``E:`` line per earlier section ``j < k``
(``E:round(10 * (1 - lev(c_k, c_j) / max(|c_k|, |c_j|)))``, the Levenshtein similarity of
the two sections' texts in 11 levels), then ``B:`` (its bars). Two sections give
``S:2 B:b1 E:e21 B:b2``; three give ``S:3 B:b1 E:e21 B:b2 E:e31 E:e32 B:b3``.

Sections are cut at ``:|`` ``||`` ``|]`` ``::`` ``|:`` ``[|`` (a plain ``|`` is not a
section end); a part after the last of them is dropped, and a part that opens with a digit
(before any letter, quote, bracket or ``!``: a second ending) joins the section before it.
A section's bars are its ``|`` once the section bar lines at its ends are stripped and the
inner ones count as ``|``, plus one. A tune with no section bar line is one section whose
last ``|`` counts as ``|]``. The source's data holds 1-8 sections of 1-32 bars each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from musegen_cli.plugin import Condition, UserError

#: The source's section bar lines, in the order its stripping uses them.
SECTION_BARLINES = (":|", "||", "|]", "::", "|:", "[|")
_SECTION_SPLIT = re.compile("(" + "|".join(map(re.escape, SECTION_BARLINES)) + ")")
MAX_SECTIONS, MAX_BARS, LEVELS = 8, 32, 10
#: The form conditions as the family declares them (imported TunesFormer/EMusicGen models only).
FORM_DECLARED = (
    Condition("sections", "TunesFormer/EMusicGen: number of sections (S:, 1-8)"),
    Condition(
        "section_bars", "TunesFormer/EMusicGen: bars per section (B:, 1-32; one for all, or one per section: 8,8)"
    ),
    Condition(
        "similarity",
        "TunesFormer/EMusicGen: each section's likeness to each earlier one "
        "(E:, 0 unrelated to 10 the same; one for all, or one per pair)",
    ),
)
FORM_CONDITIONS = tuple(c.name for c in FORM_DECLARED)


def levenshtein(a: str, b: str) -> int:
    """Edits (insert, delete, substitute) from ``a`` to ``b``."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def _opens_with_number(part: str) -> bool:
    """A digit before any letter, quote, ``(`` or ``!``: the part continues its section."""
    for char in part:
        if char in '("!':
            return False
        if char.isnumeric():
            return True
        if char.isalpha():
            return False
    return False


def _header_end(lines: list[str]) -> int:
    """Where the body starts: after the first run of field lines (and anything before it)."""
    seen_field = False
    for index, line in enumerate(lines):
        if len(line) > 1 and line[0].isalpha() and line[1] == ":":
            seen_field = True
        elif seen_field:
            return index
    return len(lines)


def sections(tune: str) -> list[str]:
    """The tune's sections as its data preparation cuts them (header lines left out; the
    tune stripped of surrounding blank space first, as its cleaning leaves it)."""
    lines = tune.strip().splitlines(keepends=True)
    body = "".join(lines[_header_end(lines) :])
    parts = [part for part in _SECTION_SPLIT.split(body) if part]
    if not parts:
        return []
    if len(parts) == 1:
        at = body.rfind("|")
        parts = [body if at < 0 else body[:at] + "|]" + body[at + 1 :]]
    else:
        if parts[0] in SECTION_BARLINES:
            parts = [parts[0] + parts[1]] + parts[2:]
        parts = [parts[2 * i] + parts[2 * i + 1] for i in range(len(parts) // 2)]
    merged: list[str] = []
    for part in parts:
        if merged and _opens_with_number(part):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def section_bars(section: str) -> int:
    for barline in SECTION_BARLINES:
        section = section.strip(barline).replace(barline, "|")  # strip: any of its characters
    return section.count("|") + 1


def similarity_level(a: str, b: str) -> int:
    return round(LEVELS * (1 - levenshtein(a, b) / max(len(a), len(b))))


def code_lines(bars: list[int], levels: list[list[int]]) -> str:
    """``S:``, then per section its ``E:`` lines (one per earlier section) and ``B:``."""
    text = f"S:{len(bars)}\n"
    for k, count in enumerate(bars):
        text += "".join(f"E:{level}\n" for level in (levels[k - 1] if k else []))
        text += f"B:{count}\n"
    return text


def control_codes(tune: str) -> str:
    """The codes the source's data preparation writes for a tune ('' where it has no body)."""
    parts = sections(tune)
    if not parts:
        return ""
    levels = [[similarity_level(parts[k], parts[j]) for j in range(k)] for k in range(1, len(parts))]
    return code_lines([section_bars(part) for part in parts], levels)


# ----- conditions -----------------------------------------------------------------------


def _numbers(name: str, value: str, low: int, high: int) -> list[int]:
    try:
        numbers = [int(item) for item in value.split(",")]
    except ValueError:
        numbers = []
    if not numbers or any(not low <= n <= high for n in numbers):
        raise UserError(f"invalid {name} {value!r}; give a whole number {low}-{high}, or a comma list of them")
    return numbers


def form_codes(conditions: Mapping[str, str]) -> str:
    """The ``S:`` ``B:`` ``E:`` lines the conditions give: ``S:`` alone without
    ``section_bars`` (the model writes the rest); a single ``section_bars`` or
    ``similarity`` value stands for every section or pair, a comma list gives each in the
    source's order (``similarity``: section 2 with 1, then 3 with 1, 3 with 2, ...). Values
    the source cannot write are a one-line UserError."""
    if "sections" not in conditions:
        if any(name in conditions for name in FORM_CONDITIONS):
            raise UserError("section_bars and similarity describe sections: add -c sections=N (1-8)")
        return ""
    counts = _numbers("sections", conditions["sections"], 1, MAX_SECTIONS)
    if len(counts) > 1:
        raise UserError(f"invalid sections {conditions['sections']!r}; give one whole number 1-{MAX_SECTIONS}")
    count = counts[0]
    if "section_bars" not in conditions:
        if "similarity" in conditions:
            raise UserError("similarity comes between sections' bar counts: add -c section_bars=N")
        return f"S:{count}\n"
    bars = _numbers("section_bars", conditions["section_bars"], 1, MAX_BARS)
    bars = bars * count if len(bars) == 1 else bars
    if len(bars) != count:
        raise UserError(f"section_bars lists {len(bars)} sections but sections is {count}; give {count} numbers or one")
    pairs = count * (count - 1) // 2
    if count == 1:
        if "similarity" in conditions:
            raise UserError("similarity compares a section with earlier ones: it needs sections=2 or more")
        return code_lines(bars, [])
    if "similarity" not in conditions:
        raise UserError(
            "the source writes an E: line between sections' B: lines: add -c similarity=L "
            "(0 unrelated to 10 the same; one level, or one per pair of sections)"
        )
    given = _numbers("similarity", conditions["similarity"], 0, LEVELS)
    given = given * pairs if len(given) == 1 else given
    if len(given) != pairs:
        raise UserError(
            f"{count} sections have {pairs} similarity levels (each section with every earlier one); "
            f"give {pairs} numbers or one"
        )
    levels, at = [], 0
    for k in range(1, count):
        levels.append(given[at : at + k])
        at += k
    return code_lines(bars, levels)
