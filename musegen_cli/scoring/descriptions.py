"""English descriptions of dataset records, the text side of the scorer's contrastive training.

A record's metadata and analyzer labels become short phrases ("in D major", "in 6/8 time",
"happy and excited", "from O'Neill's Music of Ireland"). `describe` joins all of them in a
fixed order for evaluation and for users to imitate; with an ``rng`` it keeps a random
subset in a random order, so the text encoder learns each phrase on its own and a query
naming only some properties still finds the music.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

#: Corpus collections (dataset ``collection`` field) -> readable names.
COLLECTIONS: dict[str, str] = {
    "essenFolksong": "the Essen folk song collection",
    "oneills1850": "O'Neill's Music of Ireland",
    "ryansMammoth": "Ryan's Mammoth Collection",
    "airdsAirs": "Aird's Airs",
    "miscFolk": "a miscellany of folk tunes",
    "nottingham-dataset": "the Nottingham folk music dataset",
}

#: Emotion quadrants (Russell's circumplex, as EMOPIA labels them) -> words.
QUADRANT_WORDS: dict[str, str] = {
    "Q1": "happy and excited",
    "Q2": "tense and angry",
    "Q3": "sad and depressed",
    "Q4": "calm and relaxed",
}

_MODE_NAMES = {"": "major", "maj": "major", "m": "minor", "min": "minor", "ion": "ionian", "aeo": "aeolian",
               "dor": "dorian", "phr": "phrygian", "lyd": "lydian", "mix": "mixolydian", "loc": "locrian"}
_KEY = re.compile(r"([A-G])([#b]?)\s*([A-Za-z]*)")
_NON_WORD = re.compile(r"[^a-z]")


def key_name(key: str) -> str | None:
    """``Ador`` / ``Em`` / ``G`` (ABC spelling) or ``A dorian`` (older datasets) -> ``A dorian``;
    None for what is not a key."""
    match = _KEY.fullmatch(key.strip())
    if not match:
        return None
    tonic, accidental, mode = match.groups()
    mode = _NON_WORD.sub("", mode.lower())
    name = _MODE_NAMES.get(mode[:3] if len(mode) >= 3 else mode)
    if name is None:
        return None
    return f"{tonic}{accidental} {name}"


def _person(name: str) -> str:
    """``Bach, Johann Sebastian`` -> ``Johann Sebastian Bach``."""
    last, sep, first = name.partition(", ")
    return f"{first} {last}" if sep and first else name


def phrases(record: Mapping[str, Any]) -> list[str]:
    """Every phrase that describes the record, in a fixed order (empty for a bare record)."""
    labels = record.get("labels") or {}
    out: list[str] = []
    if quadrant := QUADRANT_WORDS.get(str(labels.get("quadrant"))):
        out.append(quadrant)
    if band := labels.get("tempo_band"):
        out.append(f"{band} tempo")
    if mode := labels.get("mode"):
        out.append(f"{mode} mode")
    if (key := labels.get("key")) and (name := key_name(str(key))):
        out.append(f"in {name}")
    if meter := labels.get("meter"):
        out.append(f"in {meter} time")
    if band := labels.get("register_band"):
        out.append(f"{band} register")
    if instrumentation := labels.get("instrumentation"):
        out.append(f"for {str(instrumentation).lower()}")
    if period := labels.get("period"):
        out.append(f"{period} period")
    if composer := labels.get("composer"):
        out.append(f"by {_person(str(composer))}")
    collection = record.get("collection")
    if collection and collection not in ("user",):
        out.append(f"from {COLLECTIONS.get(str(collection), str(collection))}")
    return out


def sample_phrases(record: Mapping[str, Any], rng: random.Random) -> list[str]:
    """A random non-empty subset of the record's phrases in random order (training augmentation)."""
    every = phrases(record)
    if not every:
        return []
    count = rng.randint(1, len(every))
    return rng.sample(every, count)


def join(chosen: list[str]) -> str:
    """Phrases -> one description, e.g. ``a tune: happy and excited, in D major``."""
    return "a tune: " + ", ".join(chosen) if chosen else "a tune"


def describe(record: Mapping[str, Any], rng: random.Random | None = None) -> str:
    """A description of the record: all phrases in a fixed order, or (with ``rng``) a random
    subset in random order."""
    return join(phrases(record) if rng is None else sample_phrases(record, rng))
