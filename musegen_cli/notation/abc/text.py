"""The shapes of ABC text every reader of a tune's lines needs: a field line (`K:D`), an
inline field (`[K:D]`), a `%` comment, and the header's first fields.

One ground-floor home, so the ABC reader, the analyzer, the data pipeline and the families
read a line the same way. Field values themselves are read by `fields` (meter, unit length,
key, tempo, play order).
"""

from __future__ import annotations

import re

from musegen_cli.notation.abc.fields import meter_value

#: A whole line that is an information field: its letter and its value.
FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
#: A field inside a music line (`[K:D]`, `[M:6/8]`): its letter and its value.
INLINE_FIELD = re.compile(r"\[([A-Za-z]):([^\]]*)\]")
_COMMENT = re.compile(r"(?<!\\)%")
_UNIT_LENGTH = re.compile(r"1/(1|2|4|8|16|32|64)")


def strip_comment(line: str) -> str:
    """The line without its `%` comment; an escaped `\\%` is text, not a comment."""
    return _COMMENT.split(line, maxsplit=1)[0]


def header_fields(abc: str, names: str = "MK") -> dict[str, str]:
    """The first value of each field in `names` written in the header (up to the first `K:`),
    comments dropped."""
    fields: dict[str, str] = {}
    for line in abc.replace("\r\n", "\n").split("\n"):
        match = FIELD_LINE.match(line)
        if match and match.group(1) in names and match.group(1) not in fields:
            fields[match.group(1)] = strip_comment(match.group(2)).strip()
        if line.startswith("K:"):
            break
    return fields


def field_readable(name: str, value: str) -> bool:
    """Whether a header field's value can be read: a meter `meter_value` takes (or "none") and
    a unit length 1/2^n; any other field is taken as it is. music21 refuses a whole tune over
    one unreadable `M:` or `L:` (`M:,/4`, `L:1/16|`)."""
    value = value.strip()
    if name == "M":
        return value.lower() == "none" or meter_value(value) is not None
    if name == "L":
        return _UNIT_LENGTH.fullmatch(value) is not None
    return True
