"""Mode names, their ABC spellings, and the pitch classes of a tonic triad.

Pure Python (no music21), so the ABC header reader and the emotion rule can share one
vocabulary: every mode is stored under one canonical name (ionian is "major", aeolian is
"minor"), whatever spelling the input used.
"""

from __future__ import annotations

#: Canonical mode names, in the order of the diatonic modes' usual listing.
MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")

#: ABC matches a mode by its first three letters, case-insensitively ("m" alone is minor).
_ABBREVIATIONS = {
    "maj": "major",
    "ion": "major",
    "min": "minor",
    "aeo": "minor",
    "m": "minor",
    "dor": "dorian",
    "phr": "phrygian",
    "lyd": "lydian",
    "mix": "mixolydian",
    "loc": "locrian",
}

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def canonical_mode(word: str) -> str | None:
    """The canonical name of a mode word ("Mix", "dorian", "m", "Aeolian"); None if unknown."""
    lowered = word.lower()
    return _ABBREVIATIONS.get(lowered if lowered == "m" else lowered[:3])


def pitch_class(tonic: str) -> int:
    """Pitch class of a tonic spelled "F#", "Bb", "B-" (music21's flat) or "C"."""
    pc = _LETTER_PC[tonic[0].upper()]
    for sign in tonic[1:]:
        pc += 1 if sign == "#" else -1 if sign in "b-" else 0
    return pc % 12


def tonic_triad(tonic: str, mode: str) -> frozenset[int]:
    """Pitch classes of the triad on the first degree of `mode`: major third in major,
    lydian and mixolydian; minor third in minor, dorian and phrygian; diminished in locrian."""
    root = pitch_class(tonic)
    third = 4 if mode in ("major", "lydian", "mixolydian") else 3
    fifth = 6 if mode == "locrian" else 7
    return frozenset({root, (root + third) % 12, (root + fifth) % 12})
