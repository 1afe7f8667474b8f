"""Training labels of a piece, read off the analyzer's features.

The labels are the conditions a generator is trained on: emotion quadrant and its parts as
EMusicGen controls them (mode, tempo, register), meter and key. Tempo here means density as
heard: `fast` when notes per second exceed the analyzer's arousal threshold. A tune with no
Q: field is measured at the analyzer's default 120 quarter notes per minute, and its label
says so (`tempo_source: default`), so a later balancing step can treat those separately.
"""

from __future__ import annotations

from typing import Any

from musegen_cli.analysis import emotion
from musegen_cli.analysis.features import PieceFeatures


def labels_from_features(features: PieceFeatures) -> dict[str, Any]:
    """The label dict of one analysed piece; empty when the piece did not parse."""
    if not features.parses:
        return {}
    labels: dict[str, Any] = {
        "quadrant": features.quadrant,
        "mode": {"positive": "major", "negative": "minor"}.get(str(features.valence)),
        "tempo_source": features.tempo_source,
        "meter": features.meter,
        "key": features.declared_key,
    }
    if features.notes_per_second is not None:
        labels["tempo_band"] = "fast" if features.notes_per_second > emotion.AROUSAL_THRESHOLD_NPS else "slow"
    if features.pitch_mean is not None:
        labels["register_band"] = "high" if features.pitch_mean >= emotion.REGISTER_MIDPOINT else "low"
    return {name: value for name, value in labels.items() if value is not None}


def label_abc(text: str) -> dict[str, Any]:
    from musegen_cli.analysis.features import analyze_abc

    return labels_from_features(analyze_abc(text))
