"""Checks every family's layers capability makes on its arguments, in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def choose_layers(available: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    """The layers asked for (all when None), each checked against the model's."""
    if wanted is None:
        return list(available)
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise ValueError(f"unknown layer {unknown[0]!r}; this model has {', '.join(available)}")
    return list(wanted)


def capture_conditions(pieces: Sequence[object], conditions: Sequence[Mapping[str, str]] | None,
                       pooling: str) -> list[Mapping[str, str]]:
    """One condition set per piece (none given: empty ones), after checking the pooling."""
    if pooling not in ("mean", "last"):
        raise ValueError(f"pooling must be 'mean' or 'last', not {pooling!r}")
    given = list(conditions) if conditions is not None else [{}] * len(pieces)
    if len(given) != len(pieces):
        raise ValueError(f"{len(pieces)} pieces but {len(given)} condition sets")
    return given
