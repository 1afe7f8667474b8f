"""Mode names, their ABC spellings, and the pitch classes of a tonic triad.

Pure Python (no music21), so the ABC reader, the analyzer, the data pipeline and the families
share one vocabulary: every mode is stored under one canonical name (ionian is "major",
aeolian is "minor"), whatever spelling the input used.
"""

from __future__ import annotations

#: Canonical mode names, in the order of the diatonic modes' usual listing.
MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")
#: Canonical modes heard as bright (major third over the tonic) and dark (minor third).
MAJOR_LIKE = frozenset({"major", "lydian", "mixolydian"})
MINOR_LIKE = frozenset({"minor", "dorian", "phrygian", "locrian"})
#: How many fifths each mode's signature lies above (sharps) or below (flats) major's on the
#: same tonic: D dorian has C major's signature, two fifths below D major's.
MODE_FIFTHS = {"major": 0, "lydian": 1, "mixolydian": -1, "dorian": -2, "minor": -3, "phrygian": -4, "locrian": -5}
#: The mode word ABC users write after the tonic (`K:Ador`, `K:Em`); major is the bare tonic.
#: The spelled-out ionian and aeolian (music21 and analysis labels name them) are there too.
ABC_MODE_WORDS = {"major": "", "ionian": "", "minor": "m", "aeolian": "m", "dorian": "dor", "phrygian": "phr",
                  "lydian": "lyd", "mixolydian": "mix", "locrian": "loc"}

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


def colour(mode: str | None) -> str | None:
    """"major" or "minor" for a mode name (dorian is minor-like; the spelled-out "ionian" and
    "aeolian" count too, as labels and requests may write them), else None."""
    if mode in MAJOR_LIKE or mode == "ionian":
        return "major"
    return "minor" if mode in MINOR_LIKE or mode == "aeolian" else None


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
