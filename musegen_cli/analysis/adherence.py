"""Did a piece hold the conditions it was asked for? Each requested condition measured on
the piece as written.

- `key`: the key the header declares (`K:`), tonic and mode, equals the one asked for;
- `mode`: the mode the emotion rule uses (`features.mode`: declared only when the music
  closes in that key) is major-like or minor-like as asked;
- `meter`: the first meter (`C` is 4/4, `C|` 2/2);
- `tempo`, `register`: the piece's measured bands (`analysis.labels`: notes per second against
  the arousal threshold, mean pitch against the register midpoint);
- `emotion`: the analyzer's quadrant;
- `instrumentation`: the layout the header declares: Keyboard is two voices (staves) and no
  choir part names, Choral three voices or more, Chamber two or more;
- `period`, `composer`, `text`: not measurable on the piece (`held` is None).

`prime_conflicts` refuses a request whose prime declares a key or meter the conditions
contradict, before anything is sampled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from musegen_cli.analysis.abc_header import parse_key
from musegen_cli.notation.abc.modes import colour
from musegen_cli.notation.abc.text import header_fields

if TYPE_CHECKING:
    from musegen_cli.analysis.features import PieceFeatures

_METERS = {"C": "4/4", "C|": "2/2"}
_CHOIR_PARTS = re.compile(r"name=\"?(soprano|alto|tenor|bass|s\.|a\.|t\.|b\.)", re.IGNORECASE)
#: Instrumentation -> the fewest and most voices its layout has.
LAYOUTS = {"Keyboard": (2, 2), "Choral": (3, 8), "Chamber": (2, 16), "Vocal": (1, 8)}
#: Quadrant -> the colour of mode it needs (its valence).
_QUADRANT_MODE = {"Q1": "major", "Q2": "minor", "Q3": "minor", "Q4": "major"}


@dataclass(frozen=True)
class Held:
    """One requested condition: what was asked, what the piece has, whether they agree
    (None: the condition cannot be measured on a piece)."""

    name: str
    wanted: str
    found: str | None
    held: bool | None

    @property
    def miss(self) -> str:
        return f"{self.name} {self.wanted} was asked for, the piece has {self.found or 'none'}"


def meter_name(meter: str | None) -> str | None:
    return _METERS.get(meter.strip(), meter.strip()) if meter else None


def _voices(abc: str) -> list[str]:
    header = abc.split("\nK:", 1)[0]
    return re.findall(r"^V:\s*(.*)$", header, re.MULTILINE)


def conditions_held(abc: str, features: PieceFeatures, conditions: Mapping[str, str]) -> list[Held]:
    """Each requested condition measured on the piece (module doc), in the order asked."""
    from musegen_cli.analysis.labels import labels_from_features

    labels = labels_from_features(features) if features.parses else {}
    results = []
    for name, wanted in conditions.items():
        found: str | None
        if name == "key":
            asked, declared = parse_key(wanted), parse_key(header_fields(abc).get("K", "none"))
            found = declared.name
            held = asked.name == declared.name
        elif name == "mode":
            found = colour(features.mode)
            held = found == wanted
        elif name == "meter":
            found = meter_name(header_fields(abc).get("M"))
            held = found == meter_name(wanted)
        elif name in ("tempo", "register"):
            found = labels.get(f"{name}_band")
            held = found == wanted
        elif name == "emotion":
            found = features.quadrant
            held = found == wanted
        elif name == "instrumentation" and wanted in LAYOUTS:
            voices = _voices(abc)
            low, high = LAYOUTS[wanted]
            choir = wanted != "Choral" and any(_CHOIR_PARTS.search(v) for v in voices)
            count = max(len(voices), 1)
            found = f"{count} voice{'s' if count != 1 else ''}" + (" named as choir parts" if choir else "")
            held = low <= count <= high and not choir
        else:
            found, held = None, None
        results.append(Held(name, wanted, found, held))
    return results


def prime_conflicts(prime: str, conditions: Mapping[str, str]) -> list[str]:
    """What a prime's declared key and meter contradict in the conditions, one line each."""
    fields = header_fields(prime)
    key = parse_key(fields["K"]) if "K" in fields else None
    problems = []
    if key is not None and key.tonic:
        shown = f"{key.name} (K:{fields['K']})"
        if "key" in conditions and parse_key(conditions["key"]).name != key.name:
            problems.append(f"the prime is in {shown} but key {conditions['key']} was asked for")
        for name, wanted in (("mode", conditions.get("mode")), ("emotion", _QUADRANT_MODE.get(conditions.get("emotion", "")))):
            if wanted and colour(key.mode) and colour(key.mode) != wanted:
                asked = f"mode {wanted}" if name == "mode" else f"emotion {conditions['emotion']} ({wanted})"
                problems.append(f"the prime is in {shown} but {asked} was asked for")
    if "meter" in conditions and "M" in fields and meter_name(fields["M"]) != meter_name(conditions["meter"]):
        problems.append(f"the prime is in M:{fields['M']} but meter {conditions['meter']} was asked for")
    return problems
