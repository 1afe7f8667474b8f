"""Conditions as prompt lines: what the abc-transformer is told before it writes a tune.

A condition is one comment line placed right after ``X:1`` and before the rest of the
header, e.g.::

    X:1
    %emotion Q1
    %mode major
    %tempo fast
    M:6/8
    K:D
    ...

Lines come from a training record's ``labels`` (``quadrant`` -> emotion, ``tempo_band`` ->
tempo, ``register_band`` -> register, ...), always in the order of ``CONDITIONS``. During
training each line is kept with probability ``keep`` and, with probability ``drop_all``, all
are dropped, so one model learns every control mode (EMusicGen's All/Mode/Pitch/Tempo/None):
at generation any subset of conditions may be given.

No torch here: ``family.py`` imports this module to declare the family.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping

from musegen_cli.plugin import (
    Condition,
    UserError,
    check_conditions,
    colour,
    header_fields,  # noqa: F401  (training reads a record's header here)
    parse_key,
)

CONDITIONS: tuple[Condition, ...] = (
    Condition("emotion", "Russell quadrant: Q1 happy, Q2 tense, Q3 sad, Q4 calm", ("Q1", "Q2", "Q3", "Q4")),
    Condition("mode", "major or minor (minor-like modes such as dorian count as minor)", ("major", "minor")),
    Condition("tempo", "fast or slow, relative to the training corpus", ("fast", "slow")),
    Condition("register", "high or low pitch register, relative to the training corpus", ("high", "low")),
    Condition("period", "musical period, e.g. Baroque or Romantic"),
    Condition("composer", "composer, e.g. Bach, Johann Sebastian"),
    Condition("instrumentation", "instrumentation, e.g. Keyboard"),
    Condition("meter", "meter, e.g. 6/8 (the M: field)"),
    Condition("key", "key, e.g. G or Dmix (the K: field)"),
)
NAMES: tuple[str, ...] = tuple(c.name for c in CONDITIONS)
_DECLARED = {c.name: c.values for c in CONDITIONS}

#: Record label key -> condition name.
LABEL_KEYS: dict[str, str] = {
    "quadrant": "emotion",
    "mode": "mode",
    "tempo_band": "tempo",
    "register_band": "register",
    "period": "period",
    "composer": "composer",
    "instrumentation": "instrumentation",
    "meter": "meter",
    "key": "key",
}
#: Quadrant -> the parts it implies, EMusicGen's attribute template: the mode carries the
#: valence, the tempo band the arousal (the emotion rule's two axes), register breaks ties.
EMOTION_PARTS: dict[str, dict[str, str]] = {
    "Q1": {"mode": "major", "tempo": "fast", "register": "high"},
    "Q2": {"mode": "minor", "tempo": "fast", "register": "high"},
    "Q3": {"mode": "minor", "tempo": "slow", "register": "low"},
    "Q4": {"mode": "major", "tempo": "slow", "register": "low"},
}
_AXIS = {"mode": {"major": "positive valence", "minor": "negative valence"},
         "tempo": {"fast": "high arousal", "slow": "low arousal"}}
_LINE = re.compile(r"^%(" + "|".join(NAMES) + r") (.*)$")


def _clean_value(value: object) -> str | None:
    text = " ".join(str(value).split())  # one line, single spaces
    return text or None


def from_labels(labels: Mapping[str, object], header: Mapping[str, str] | None = None) -> dict[str, str]:
    """Conditions of a training record: its labels mapped to condition names.

    ``header`` (the tune's own fields, e.g. ``{"M": "6/8", "K": "D"}``) fills in meter and
    key when the labels lack them. Values outside a declared vocabulary are left out.
    """
    found: dict[str, str] = {}
    for key, name in LABEL_KEYS.items():
        value = labels.get(key)
        if value is None or value == "":
            continue
        text = _clean_value(value)
        if text is None:
            continue
        if name == "mode":
            text = colour(text.lower()) or text.lower()
        values = _DECLARED[name]
        if values is not None and text not in values:
            continue
        found[name] = text
    for name, field in (("meter", "M"), ("key", "K")):
        if name not in found and header and header.get(field):
            value = _clean_value(header[field])
            if value is not None:
                found[name] = value
    return found


def dropout(conditions: Mapping[str, str], rng: random.Random, keep: float = 0.5,
            drop_all: float = 0.1) -> dict[str, str]:
    """Training-time condition dropout (see the module doc); draws from ``rng`` only."""
    if rng.random() < drop_all:
        return {}
    return {name: value for name, value in conditions.items() if rng.random() < keep}


def condition_lines(conditions: Mapping[str, str]) -> str:
    """The prompt lines, in the fixed order of ``CONDITIONS``, each ending with a newline."""
    return "".join(f"%{name} {conditions[name]}\n" for name in NAMES if name in conditions)


def _body_after_x(abc: str) -> str:
    """The tune without its ``X:`` line (and anything before it)."""
    lines = abc.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if line.startswith("X:"):
            return "\n".join(lines[index + 1 :])
    return "\n".join(lines)


def with_conditions(abc: str, conditions: Mapping[str, str]) -> str:
    """``X:1``, the condition lines, then the tune's own lines after its ``X:`` line."""
    return "X:1\n" + condition_lines(conditions) + _body_after_x(abc)


def prompt(conditions: Mapping[str, str], prime: str | None = None) -> str:
    """Generation prompt: ``X:1`` and the condition lines, then the prime's first tune if any.

    A prime that stops inside a line (no final newline) is continued on that line.
    """
    text = "X:1\n" + condition_lines(conditions)
    if prime:
        tune = _body_after_x(prime)
        text += re.split(r"^X:", tune, maxsplit=1, flags=re.MULTILINE)[0].rstrip(" \t") if "X:" in tune else tune
    return text


def strip_condition_lines(abc: str) -> str:
    """The text without condition lines (what a user sees)."""
    return "".join(line for line in abc.splitlines(keepends=True) if not _LINE.match(line.rstrip("\n")))


def check(conditions: Mapping[str, str], known: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Validate generation conditions: names and values (the core's `check_conditions`), and
    clashes between them.

    ``known`` gives the values a loaded model saw for conditions declared with
    ``values=None``; a model that never saw a condition accepts none of its values.
    """
    if known is not None:
        unseen = [name for name in conditions if name in _DECLARED and _DECLARED[name] is None
                  and not tuple(known.get(name, ()))]
        if unseen:
            raise UserError(f"this model was not trained with the condition {unseen[0]!r}; leave it out")
    given = check_conditions("abc-transformer", CONDITIONS, conditions, known)
    _check_agreement(given)
    return given


def _check_agreement(given: Mapping[str, str]) -> None:
    """Refuse conditions that ask for opposite things: an emotion against its mode or tempo
    (the emotion rule reads valence off the mode and arousal off the density of notes), a
    key against the mode."""
    emotion = given.get("emotion")
    parts = EMOTION_PARTS.get(emotion or "", {})
    for name, axis in _AXIS.items():
        needed = parts.get(name)
        if needed and given.get(name, needed) != needed:
            raise UserError(
                f"emotion {emotion} and {name} {given[name]} contradict each other: {emotion} has "
                f"{axis[needed]}, which needs {name} {needed}; drop one of them"
            )
    wanted = given.get("mode") or parts.get("mode")
    key_mode = _key_mode(given.get("key"))
    if wanted and key_mode and key_mode != wanted:
        asked = f"mode {wanted}" if "mode" in given else f"emotion {emotion} ({wanted})"
        raise UserError(f"key {given['key']} is {key_mode} but {asked} was asked for; drop one of them")


def _key_mode(key: str | None) -> str | None:
    """"major" or "minor" for a key condition in ABC spelling ("G", "Em", "Ador")."""
    if not key:
        return None
    mode = parse_key(key).mode
    return colour(mode)
