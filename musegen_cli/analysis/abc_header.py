"""Declared title, key, mode and tempo of one ABC tune, read from its text.

Follows the ABC 2.1 standard rather than music21's reader, which ignores inline `[K:]`
fields, reads `K:none` as C major and takes the legacy `Q:120` as quarter notes:

- `K:` tonic plus an optional mode matched on its first three letters, case-insensitively
  (`Dmix`, `Ador`, `C dorian`, `F#m`, `EM` is E minor as the standard says); accidentals,
  `exp` and clef words after it are ignored. `K:none` and the bagpipe keys `K:HP`/`K:Hp`
  declare no tonal centre; an unknown mode word (`K:Bn`) leaves the mode unknown.
- `Q:` is converted to quarter notes per minute: `Q:3/8=80` is 80 x 3/8 x 4 = 120 qpm;
  several beat lengths add up (`Q:1/4 3/8=40`); quoted text is ignored; the legacy bare
  `Q:120` counts beats of the unit length `L:` (default 1/16 when the meter is below 3/4,
  else 1/8), so with L:1/8 it is 120 x 1/8 x 4 = 60 qpm. Text alone (`Q:"Allegro"`) is no tempo.
- The header ends at the first `K:`; later `K:` lines and inline `[K:...]` fields are key
  changes, the last of which is the key in force at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from musegen_cli.analysis.declared import Declared, DeclaredKey
from musegen_cli.notation.abc.fields import read_key, read_tempo, unit_length
from musegen_cli.notation.abc.text import FIELD_LINE, strip_comment

_INLINE_KEY = re.compile(r"\[K:([^\]]*)\]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class AbcHeader:
    """The reference number (`X:`), the unit note length (`L:` or the standard's default)
    and the declarations of one tune."""

    number: int | None
    unit_length: Fraction
    declared: Declared


def parse_abc_header(text: str) -> AbcHeader:
    """Read X:, T:, M:, L:, Q: and every K: of one tune (see the module docstring)."""
    fields: dict[str, str] = {}
    keys: list[DeclaredKey] = []
    in_header = True
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = strip_comment(raw)
        match = FIELD_LINE.match(line)
        if in_header and match:
            name, value = match.group(1), match.group(2).strip()
            if name == "K":
                keys.append(parse_key(value))
                in_header = False
            elif name in "XT":
                fields.setdefault(name, value)  # the first title is the tune's name
            else:
                fields[name] = value  # a later M:, L: or Q: in the header overrides
            continue
        if match and match.group(1) == "K":
            keys.append(parse_key(match.group(2)))
        elif not in_header:
            keys.extend(parse_key(value) for value in _INLINE_KEY.findall(line))
    unit = unit_length(fields.get("L"), fields.get("M"))
    number = _NUMBER.match(fields.get("X", ""))
    return AbcHeader(
        number=int(number.group(0)) if number else None,
        unit_length=unit,
        declared=Declared(
            title=fields.get("T") or None,
            key=keys[0] if keys else None,
            final_key=keys[-1] if keys else None,
            tempo_qpm=parse_tempo(fields["Q"], unit) if "Q" in fields else None,
        ),
    )


def parse_key(value: str) -> DeclaredKey:
    """Parse the value of a K: field ("Dmix", "F#m", "C dorian", "none", "HP"), by the ABC
    reader's own key rule (`notation.abc.fields.read_key`)."""
    text = strip_comment(value).strip()
    key = read_key(text)
    if key.tonic is None:
        return DeclaredKey(text=text or "none")
    if key.unknown_mode:
        return DeclaredKey(text=text, tonic=key.tonic, mode=None, mode_stated=False)
    return DeclaredKey(text=text, tonic=key.tonic, mode=key.mode, mode_stated=key.mode_stated)


def parse_tempo(value: str, unit_length: Fraction = Fraction(1, 8)) -> float | None:
    """Quarter notes per minute of a Q: field value; None when it gives no number."""
    return read_tempo(strip_comment(value), unit_length)

