"""The emotion template and the header plan: how `--emotion`, `--mode` and `--tempo` reach the music.

EMusicGen controls emotion through its musical attributes rather than asking a model for
"sad" directly. musegen does the same in two steps:

1. **Template.** A requested quadrant fills in the parts it implies, unless the user gave
   them: Q1 major/fast/high, Q2 minor/fast/high, Q3 minor/slow/low, Q4 major/slow/low
   (`with_template`). All of them go into the prompt, the "All" control mode the model
   was trained on.
2. **Header plan.** Mode and tempo have a home in the ABC header, `K:` and `Q:`, and the
   analyzer reads them there, as a musician does. So the model first writes its own header
   (meter, unit length, key); then the plan rewrites the mode of its `K:` line to the
   requested one, keeping the tonic (`K:G` becomes `K:Gm`, the parallel minor; `K:Ador`
   stays, dorian being minor-like), and writes a `Q:` line with a tempo drawn from the
   requested band (`TEMPO_QPM`, in the meter's beat: `Q:3/8=100` in 6/8). The model then
   writes the music under that header, still told the conditions.

The bands sit well clear of the analyzer's arousal threshold (3.1 notes/s, about 1.6 notes
per beat at 120 qpm): at 144-176 qpm a tune with at least 1.3 notes per quarter is high
arousal, and at 56-76 qpm one with at most 2.4 is low, the density the model writes under
`%tempo fast` and `%tempo slow` respectively. Register has no header field; it stays a
prompt condition only.

No torch here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from musegen_cli.plugin import FIELD, MAJOR_LIKE, MINOR_LIKE, field_readable, meter_value, parse_key

from .conditions import EMOTION_PARTS

#: Tempo band -> the range of quarter notes per minute a planned `Q:` line draws from.
TEMPO_QPM: dict[str, tuple[int, int]] = {"fast": (144, 176), "slow": (56, 76)}

#: The meter of a header that names none (or `M:none`) when no `meter` condition is given:
#: the model's training manifest keeps the meters it saw but not how often, and 4/4 is the
#: commonest meter of ABC tunebooks. The strict bar check already has such a header written
#: again (`BarCheck`); this mends one that survived every retry.
DEFAULT_METER = "4/4"
#: A piano score as NotaGen's data and musegen's ABC writer lay it out: two staves in one
#: brace, the right hand in treble, the left in bass (not choir parts).
KEYBOARD_LINES = ("%%score {1 | 2}", "V:1 clef=treble", "V:2 clef=bass")
_DEFAULT_KEY = {"major": "C", "minor": "Am"}


def with_template(conditions: Mapping[str, str]) -> dict[str, str]:
    """The conditions plus the parts the requested emotion implies, where not given."""
    filled = dict(conditions)
    for name, value in EMOTION_PARTS.get(conditions.get("emotion", ""), {}).items():
        filled.setdefault(name, value)
    return filled


@dataclass(frozen=True)
class HeaderPlan:
    """What the header must say: a major or minor mode and a fast or slow tempo (None: free),
    the meter a header that names none gets (the `meter` condition, else `DEFAULT_METER`),
    and whether it is a two-staff piano score (`--instrumentation Keyboard`)."""

    mode: str | None = None
    tempo: str | None = None
    meter: str = DEFAULT_METER
    keyboard: bool = False

    @classmethod
    def from_conditions(cls, conditions: Mapping[str, str]) -> HeaderPlan:
        meter = conditions.get("meter")
        return cls(mode=conditions.get("mode"), tempo=conditions.get("tempo"),
                   meter=meter if meter and meter_value(meter) is not None else DEFAULT_METER,
                   keyboard=conditions.get("instrumentation") == "Keyboard")

    @property
    def empty(self) -> bool:
        return self.mode is None and self.tempo is None and not self.keyboard


def header_done(text: str) -> bool:
    """Whether a model's opening text holds its whole header: a complete `K:` line, or
    any complete line that is not a field (the music has begun)."""
    for line in text.split("\n")[:-1]:  # complete lines only
        if line.startswith("K:") or not FIELD.match(line) and not line.startswith("%"):
            return True
    return False


def apply(header: str, plan: HeaderPlan, rng: random.Random) -> str:
    """The model's header (its lines before the music) rewritten to follow ``plan``.

    Lines after the first `K:` line are dropped: the model writes the music again under
    the planned header. A header without `K:` gets one (C or A minor); an unreadable meter
    or unit length is mended (`readable_field`); a header without a meter, or with `M:none`,
    gets the plan's; a keyboard plan replaces the model's voices with `KEYBOARD_LINES`."""
    lines, key_line = [], None
    for line in header.split("\n"):
        if not line or not (FIELD.match(line) or line.startswith("%")):
            break
        if line.startswith("K:"):
            key_line = line
            break
        if plan.tempo is not None and line.startswith("Q:"):
            continue  # replaced by the planned tempo
        if plan.keyboard and line.startswith(("V:", "%%score", "%%staves")):
            continue  # replaced by the piano's two staves
        repaired = readable_field(line)
        if repaired and not (repaired.startswith("M:") and meter_value(repaired[2:]) is None):
            lines.append(repaired)  # `M:none` is dropped: the plan's meter replaces it
    meter = next((line[2:].strip() for line in lines if line.startswith("M:")), None)
    if meter is None:
        meter = plan.meter
        lines.insert(next((n for n, line in enumerate(lines) if line.startswith(("L:", "Q:", "V:"))), len(lines)),
                     f"M:{meter}")
    if plan.tempo is not None:
        lines.append(tempo_line(plan.tempo, meter, rng))
    if plan.keyboard:
        lines.extend(KEYBOARD_LINES)
    lines.append(key_with_mode(key_line[2:] if key_line else "", plan.mode))
    return "\n".join(lines) + "\n"


def readable_field(line: str) -> str | None:
    """A header line as the model wrote it, unless it is a meter or unit length no reader can
    take (`field_readable`). The sampler's bar check already has such a line written again;
    this mends one that survived every retry, so a planned header always parses: an
    unreadable `M:` becomes 4/4, the commonest meter (not dropped: a tune without one would
    pass any bar check), and an unreadable `L:` is dropped, so the meter's default applies."""
    name, value = line[:1], line[2:]
    if line[1:2] != ":" or field_readable(name, value):
        return line
    return "M:4/4" if name == "M" else None


def key_with_mode(value: str, mode: str | None) -> str:
    """A `K:` line for the key ``value`` in a major-like or minor-like ``mode`` (None: as is).

    The tonic stays; a mode of the wrong colour becomes plain major or minor; anything after
    the mode word (clef, explicit accidentals) is kept."""
    value = value.strip()
    if mode is None:
        return f"K:{value or _DEFAULT_KEY['major']}"
    key = parse_key(value)
    if key.tonic is None:
        return f"K:{_DEFAULT_KEY[mode]}"
    if key.mode in (MAJOR_LIKE if mode == "major" else MINOR_LIKE):
        return f"K:{value}"
    words = value[len(key.tonic) :].split()
    if key.mode_stated or key.mode is None:
        words = words[1:]  # the mode word itself
    return "K:" + " ".join([key.tonic + ("m" if mode == "minor" else ""), *words])


def tempo_line(band: str, meter: str | None, rng: random.Random) -> str:
    """A `Q:` line in the meter's beat (dotted in compound meters) for a tempo drawn
    uniformly from the band's range of quarter notes per minute."""
    low, high = TEMPO_QPM[band]
    qpm = rng.uniform(low, high)
    beat = beat_length(meter)
    return f"Q:{beat.numerator}/{beat.denominator}={round(qpm / (4 * beat))}"


def beat_length(meter: str | None) -> Fraction:
    """The beat a tempo is counted in: dotted in compound meters (3/8 in 6/8, 9/8, 12/8 and
    3/8), a half in 2/2 and 3/2, else a quarter."""
    text = (meter or "").strip()
    if text == "C|":
        return Fraction(1, 2)
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", text)
    if not match or meter_value(text) is None:
        return Fraction(1, 4)
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if denominator >= 8 and numerator in (3, 6, 9, 12):
        return Fraction(3, denominator)
    return Fraction(1, 2) if denominator == 2 else Fraction(1, 4)
