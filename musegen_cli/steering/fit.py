"""Fit a concept's directions in every layer of a model: activations, RFM, linear probe.

For each layer the pooled activations are centred and divided by one number (their RMS
spread per dimension), so the same bandwidth grid suits every layer; directions are the same
in that space and the raw one. Pieces are split once, deterministically from the seed, into
training (80%) and validation (20%); every layer is scored on the same validation pieces,
classification by accuracy and regression by R^2, for the RFM and for a linear probe.

A score on a handful of validation pieces says little (3 pieces give accuracy 0, 0.33, 0.67
or 1), so `reliability_warnings` flags fewer than MIN_VALID_PER_CLASS validation pieces of any
class (MIN_VALID_REGRESSION for a regression concept).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from musegen_cli.steering import rfm
from musegen_cli.steering.concepts import ConceptData
from musegen_cli.steering.directions import Directions, LayerFit

VALID_SHARE = 0.2
#: Bandwidths in units of sqrt(hidden), the typical distance between standardised points.
BANDWIDTH_FACTORS = (0.5, 2.0)
#: Below this many validation pieces of a class (or in all, for regression) scores are too coarse to trust.
MIN_VALID_PER_CLASS = 10
MIN_VALID_REGRESSION = 20


def split(count: int, seed: int) -> tuple[list[int], list[int]]:
    order = list(range(count))
    random.Random(f"{seed}:split").shuffle(order)
    cut = max(1, round(count * VALID_SHARE))
    return sorted(order[cut:]), sorted(order[:cut])


def targets_matrix(concept: ConceptData, indices: list[int], mean: float, std: float) -> torch.Tensor:
    values = torch.tensor([concept.targets[i] for i in indices], dtype=torch.float64)
    if concept.task == "classification":
        return rfm.one_hot(values.long(), len(concept.labels))
    return ((values - mean) / std)[:, None]


def fit_layer(x: torch.Tensor, concept: ConceptData, train: list[int], valid: list[int],
              rounds: int, grid: Mapping[str, Any] | None) -> tuple[torch.Tensor, LayerFit]:
    """Directions [outputs, hidden] and scores of one layer's activations x [n, hidden]."""
    x = x.double()
    mean = x[train].mean(0)
    spread = float(((x[train] - mean) ** 2).mean().sqrt().clamp_min(1e-12))
    z = (x - mean) / spread
    values = torch.tensor([concept.targets[i] for i in train], dtype=torch.float64)
    y_mean, y_std = float(values.mean()), float(values.std().clamp_min(1e-12)) if len(values) > 1 else 1.0
    y_train = targets_matrix(concept, train, y_mean, y_std)
    y_valid = targets_matrix(concept, valid, y_mean, y_std)
    hidden = x.shape[1]
    search_grid = dict(grid) if grid is not None else {
        **rfm.GRID, "bandwidth": tuple(f * math.sqrt(hidden) for f in BANDWIDTH_FACTORS)}
    result = rfm.search(z[train], y_train, z[valid], y_valid, concept.task, search_grid, rounds)
    vectors = rfm.signed_directions(result, z[train], y_train, concept.task).float()
    linear = rfm.linear_probe(z[train], y_train, z[valid], y_valid, concept.task)
    scale = float(x.norm(dim=1).pow(2).mean().sqrt())
    settings = {"bandwidth": result.settings.bandwidth, "ridge": result.settings.ridge,
                "exponent": result.settings.exponent, "centre": result.settings.centre, "round": result.round}
    return vectors, LayerFit(rfm_score=result.score, linear_score=linear, settings=settings, activation_scale=scale)


def fit_directions(activations: Mapping[str, torch.Tensor], concept: ConceptData, model: Mapping[str, str],
                   pooling: str, seed: int = 0, rounds: int = 5, grid: Mapping[str, Any] | None = None,
                   on_layer: Callable[[str, LayerFit], None] | None = None) -> Directions:
    """Directions of ``concept`` in every captured layer (see the module doc)."""
    train, valid = split(len(concept.pieces), seed)
    vectors, layers = {}, {}
    for name, x in activations.items():
        vectors[name], layers[name] = fit_layer(x, concept, train, valid, rounds, grid)
        if on_layer is not None:
            on_layer(name, layers[name])
    per_class = {}
    if concept.task == "classification":
        per_class = {"per_class": _class_counts(concept, range(len(concept.pieces))),
                     "valid_per_class": _class_counts(concept, valid)}
    notes = {"pieces": len(concept.pieces), "train": len(train), "valid": len(valid), "seed": seed,
             "rounds": rounds, **per_class}
    return Directions(concept.name, concept.task, list(concept.labels), dict(model), pooling, vectors, layers, notes)


def _class_counts(concept: ConceptData, indices: Iterable[int]) -> dict[str, int]:
    chosen = [int(concept.targets[i]) for i in indices]
    return {label: chosen.count(i) for i, label in enumerate(concept.labels)}


def reliability_warnings(directions: Directions) -> list[str]:
    """Why the validation scores of a fit may not mean much (empty when they can be trusted)."""
    notes = directions.notes
    if directions.task != "classification":
        valid = int(notes.get("valid", 0))
        if valid >= MIN_VALID_REGRESSION:
            return []
        return [f"R^2 is measured on only {valid} validation pieces (at least {MIN_VALID_REGRESSION} needed "
                "to trust it); give more pieces"]
    counts = notes.get("valid_per_class", {})
    short = {label: n for label, n in counts.items() if n < MIN_VALID_PER_CLASS}
    if not short:
        return []
    listed = ", ".join(f"{label} {n}" for label, n in short.items())
    return [f"accuracy is measured on too few validation pieces per class ({listed}; at least "
            f"{MIN_VALID_PER_CLASS} of each needed to trust it, i.e. about "
            f"{math.ceil(MIN_VALID_PER_CLASS / VALID_SHARE)} pieces per class); give more pieces"]


def points_to(directions: Directions) -> str:
    """What a positive strength moves the music towards, in words."""
    labels = directions.labels
    if directions.task == "regression":
        return f"higher {labels[0]}"
    if len(labels) == 2:
        return f"{labels[1]} (away from {labels[0]})"
    return "the class named in the direction (one vector per class: " + ", ".join(labels) + ")"
