"""Training labels of a piece, read off the analyzer's features.

The labels are the conditions a generator is trained on: emotion quadrant and its parts as
EMusicGen controls them (mode, tempo, register), meter and key. Tempo here means density as
heard: `fast` when notes per second exceed the analyzer's arousal threshold.

Arousal without a tempo. Most corpus tunes (about 11,750 of 12,978) have no Q: field. Such a
tune is measured at the analyzer's default of 120 quarter notes per minute (the default of
MIDI, abc2midi and music21, so it is also the speed at which our own MIDI/WAV output plays
it), and its labels say so with `tempo_source: default`; `tempo_source: declared` marks a
measured tempo. Arousal (and `tempo_band`) is then a statement about the notation, not about a
performance: notes per written quarter at a nominal 120 qpm, with register breaking near-ties
(`emotion`). The threshold is the corpus median under that same convention, so high
and low arousal split the corpus evenly. A reel and a slow air with the same note values get
the same label; we accept that rather than guess tempi from genre. Consumers that want only
measured arousal filter on `tempo_source == "declared"`; augmentation keeps the parent's Q:
(or its absence), so a copy's `tempo_source` is its parent's.

Scores add `composer`, `period` (from the corpus folder, `sources.COMPOSERS`) and
`instrumentation` (from part names, `data.scores`) before these analyzer labels.
"""

from __future__ import annotations

from typing import Any

from musegen_cli.analysis import emotion
from musegen_cli.analysis.features import PieceFeatures
from musegen_cli.notation.abc.modes import ABC_MODE_WORDS


def abc_key(declared: str | None) -> str | None:
    """`A dorian` -> `Ador`, `G major` -> `G`, `E minor` -> `Em`: the key as ABC users write it."""
    if not declared or declared == "none":
        return None
    tonic, _, mode = declared.partition(" ")
    return tonic + ABC_MODE_WORDS.get(mode, "") if mode in ABC_MODE_WORDS or not mode else None


def labels_from_features(features: PieceFeatures) -> dict[str, Any]:
    """The label dict of one analysed piece; empty when the piece did not parse."""
    if not features.parses:
        return {}
    labels: dict[str, Any] = {
        "quadrant": features.quadrant,
        "mode": {"positive": "major", "negative": "minor"}.get(str(features.valence)),
        "tempo_source": features.tempo_source,
        "meter": features.meter,
        "key": abc_key(features.declared_key),
    }
    if features.notes_per_second is not None:
        labels["tempo_band"] = "fast" if features.notes_per_second > emotion.AROUSAL_THRESHOLD_NPS else "slow"
    if features.pitch_mean is not None:
        labels["register_band"] = "high" if features.pitch_mean >= emotion.REGISTER_MIDPOINT else "low"
    return {name: value for name, value in labels.items() if value is not None}


def label_abc(text: str) -> dict[str, Any]:
    from musegen_cli.analysis.features import analyze_abc

    return labels_from_features(analyze_abc(text))
