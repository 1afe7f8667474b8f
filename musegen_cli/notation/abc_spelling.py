"""Spelling pitches in ABC: keys (K: with modes) and when an accidental must be written.

ABC 2.1 carries an accidental through the rest of the bar (abcm2ps per octave, others per
pitch letter); older readers, and music21 without `%abc-2.1`, do not carry it at all. The
spelling writes an accidental whenever any of these readings would get the note wrong, so
the text means the same to every reader.
"""

from __future__ import annotations

from collections.abc import Iterable

from musegen_cli.notation.abc.modes import ABC_MODE_WORDS

_ACCIDENTALS = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
#: How readers apply an accidental to later notes of the same bar.
_CARRY_MODELS = ("none", "letter", "octave")


def key_field(signature: object | None) -> tuple[str, dict[str, int]]:
    """The K: value for a music21 Key/KeySignature, and the alteration of each letter it implies."""
    from music21 import key

    if signature is None or abs(signature.sharps) > 7:
        return "C", {}
    mode = getattr(signature, "mode", None)
    if isinstance(signature, key.Key) and mode in ABC_MODE_WORDS:
        name = signature.tonic.name.replace("-", "b") + ABC_MODE_WORDS[mode]
    else:
        name = signature.asKey("major").tonic.name.replace("-", "b")
    alters = {p.step: int(p.alter) for p in signature.alteredPitches}
    return name, alters


class Spelling:
    """Decides, note by note within one bar, whether an accidental must be written.

    Tracks what each carry model would make of an unmarked note; writes an accidental
    whenever any model would be wrong, so the ABC reads the same everywhere. `tied_in` holds
    the alteration of each (letter, octave) tied over the bar line into this bar: ABC 2.1
    gives the next such note that alteration, so a note that differs must say so.
    """

    def __init__(self, key_alters: dict[str, int], tied_in: dict[tuple[str, int], int] | None = None) -> None:
        self.key_alters = key_alters
        self.carried: dict[str, dict[tuple, int]] = {model: {} for model in _CARRY_MODELS}
        self.tied_in = dict(tied_in or {})

    def pitches(self, pitches: Iterable, ties: list[bool]) -> str:
        return "".join(self._note(p) + ("-" if tie else "") for p, tie in zip(pitches, ties))

    def _note(self, pitch: object) -> str:
        alter = int(round(pitch.alter))
        step, octave = pitch.step, pitch.octave if pitch.octave is not None else 4
        keys = {"none": None, "letter": (step,), "octave": (step, octave)}
        implied = [
            self.carried[m].get(keys[m], self.key_alters.get(step, 0)) if keys[m] else self.key_alters.get(step, 0)
            for m in _CARRY_MODELS
        ]
        tied = self.tied_in.pop((step, octave), None)
        if tied is not None:
            implied.append(tied)
        accidental = ""
        if any(value != alter for value in implied):
            accidental = _ACCIDENTALS.get(alter, "")
            for model in _CARRY_MODELS:
                if keys[model]:
                    self.carried[model][keys[model]] = alter
        return accidental + _letter(step, octave)


def _letter(step: str, octave: int) -> str:
    if octave >= 5:
        return step.lower() + "'" * (octave - 5)
    return step.upper() + "," * (4 - octave)
