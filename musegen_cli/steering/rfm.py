"""Recursive Feature Machines: a kernel predictor that learns which directions matter.

An RFM (Radhakrishnan et al., 2024; MusicRFM uses it to find steering directions) alternates
two steps on features X [n, d] and targets Y [n, k]:

1. kernel ridge regression with a Laplace-type kernel on a learned metric M,
   K(x, z) = exp(-||x - z||_M^gamma / bandwidth), ||v||_M = sqrt(v^T M v);
   alpha = (K + ridge I)^-1 Y, f(x) = sum_i alpha_i K(x, x_i);
2. the average gradient outer product of the fitted predictor (AGOP):
   M <- mean over training points x and outputs c of grad f_c(x) grad f_c(x)^T,
   optionally with each output's gradients centred on their mean first.

M starts as the identity. After a few rounds M concentrates on the directions along which
the predictor changes. Each round is scored on held-out points and the best round's
predictor is kept (early stopping); the concept's directions are the top eigenvectors of that
predictor's AGOP. A small grid over bandwidth, ridge, exponent and centring picks the
settings.

Targets are a class index (binary or multiclass, one-hot outputs) or real values
(regression, standardised). Pure torch, float64 for the solves; no model here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class RFMSettings:
    bandwidth: float = 10.0
    ridge: float = 1e-3
    exponent: float = 1.0  # gamma in (0, 2]: 1 is the Laplace kernel
    centre: bool = False  # centre each output's gradients before the outer product
    rounds: int = 5


#: The default search: every combination is fitted and the best validation score wins.
GRID: dict[str, Sequence] = {
    "bandwidth": (1.0, 10.0),
    "ridge": (1e-3, 1e-1),
    "exponent": (1.0, 1.5),
    "centre": (False, True),
}


@dataclass
class RFMResult:
    """The best round's predictor: the metric its kernel used, and its own AGOP."""

    settings: RFMSettings
    metric: Tensor  # [d, d] the kernel's metric in that round
    gradient_outer: Tensor  # [d, d] the AGOP of that round's predictor: where the directions come from
    score: float  # validation accuracy (classification) or R^2 (regression)
    round: int  # the round whose predictor scored best (0 = identity metric)
    history: list[float] = field(default_factory=list)

    def directions(self, count: int = 1) -> Tensor:
        """The AGOP's top eigenvectors [count, d], largest eigenvalue first (unsigned)."""
        values, vectors = torch.linalg.eigh(self.gradient_outer)
        order = values.argsort(descending=True)[:count]
        return vectors[:, order].T.contiguous()


def one_hot(labels: Tensor, classes: int) -> Tensor:
    return torch.nn.functional.one_hot(labels.long(), classes).double()


def kernel(x: Tensor, z: Tensor, metric: Tensor, bandwidth: float, exponent: float) -> tuple[Tensor, Tensor]:
    """K [n, m] and the Mahalanobis distances [n, m] between rows of x and z."""
    xm, zm = x @ metric, z @ metric
    squared = (xm * x).sum(1)[:, None] + (zm * z).sum(1)[None, :] - 2 * xm @ z.T
    distance = squared.clamp_min(0).sqrt()
    return torch.exp(-distance.pow(exponent) / bandwidth), distance


def fit_kernel_ridge(x: Tensor, y: Tensor, metric: Tensor, settings: RFMSettings) -> Tensor:
    """alpha [n, k] of kernel ridge regression."""
    k, _ = kernel(x, x, metric, settings.bandwidth, settings.exponent)
    k.diagonal().add_(settings.ridge)
    return torch.linalg.solve(k, y)


def predict(x_new: Tensor, x: Tensor, alpha: Tensor, metric: Tensor, settings: RFMSettings) -> Tensor:
    k, _ = kernel(x_new, x, metric, settings.bandwidth, settings.exponent)
    return k @ alpha


def agop(x: Tensor, alpha: Tensor, metric: Tensor, settings: RFMSettings, chunk: int = 256) -> Tensor:
    """Average gradient outer product of f(x) = K(x, X) alpha over the training points.

    grad_x K(x, x_i) = -(gamma / L) K(x, x_i) ||x - x_i||_M^(gamma - 2) M (x - x_i), so
    grad f_c(x) = M (G_c x - G_c-weighted sum of x_i) with weights
    w_ic = -(gamma / L) K(x, x_i) d_i^(gamma - 2) alpha_ic (zero at d = 0, where the
    Laplace kernel has no gradient).
    """
    n, d = x.shape
    outputs = alpha.shape[1]
    gradients = torch.empty(n, outputs, d, dtype=x.dtype)
    for start in range(0, n, chunk):
        rows = x[start : start + chunk]
        k, distance = kernel(rows, x, metric, settings.bandwidth, settings.exponent)
        scale = torch.where(distance > 1e-10, distance.clamp_min(1e-10).pow(settings.exponent - 2), 0.0)
        weights = -(settings.exponent / settings.bandwidth) * (k * scale)  # [m, n]
        for c in range(outputs):
            w = weights * alpha[:, c][None, :]  # [m, n]
            grad = rows * w.sum(1, keepdim=True) - w @ x  # [m, d], before M
            gradients[start : start + len(rows), c] = grad @ metric
    if settings.centre:
        gradients = gradients - gradients.mean(0, keepdim=True)
    flat = gradients.reshape(-1, d)
    return flat.T @ flat / n


def score(task: Task, predicted: Tensor, target: Tensor) -> float:
    """Accuracy (classification: target is one-hot) or R^2 (regression)."""
    if task == "classification":
        return float((predicted.argmax(1) == target.argmax(1)).double().mean())
    residual = ((predicted - target) ** 2).sum()
    total = ((target - target.mean(0)) ** 2).sum().clamp_min(1e-12)
    return float(1 - residual / total)


def fit_rfm(x: Tensor, y: Tensor, x_valid: Tensor, y_valid: Tensor, task: Task,
            settings: RFMSettings) -> RFMResult:
    """Fit one RFM; keep the round whose predictor scores best on the validation points."""
    x, y, x_valid, y_valid = (t.double() for t in (x, y, x_valid, y_valid))
    metric = torch.eye(x.shape[1], dtype=torch.float64)
    best: RFMResult | None = None
    history: list[float] = []
    for round_number in range(settings.rounds + 1):
        alpha = fit_kernel_ridge(x, y, metric, settings)
        value = score(task, predict(x_valid, x, alpha, metric, settings), y_valid)
        history.append(value)
        outer = agop(x, alpha, metric, settings)
        if best is None or value > best.score:
            best = RFMResult(settings, metric, outer, value, round_number)
        trace = float(outer.trace())
        if round_number == settings.rounds or not trace > 0:  # the last round, or a flat predictor
            break
        metric = outer / trace * x.shape[1]  # keep the scale of distances comparable
    assert best is not None
    best.history = history
    return best


def search(x: Tensor, y: Tensor, x_valid: Tensor, y_valid: Tensor, task: Task,
           grid: dict[str, Sequence] | None = None, rounds: int = 5) -> RFMResult:
    """The best RFM over every combination of the grid (validation score; first wins ties)."""
    grid = dict(GRID if grid is None else grid)
    names = list(grid)
    best: RFMResult | None = None
    for values in itertools.product(*(grid[name] for name in names)):
        settings = RFMSettings(**dict(zip(names, values)), rounds=rounds)
        result = fit_rfm(x, y, x_valid, y_valid, task, settings)
        if best is None or result.score > best.score:
            best = result
    assert best is not None
    return best


def linear_probe(x: Tensor, y: Tensor, x_valid: Tensor, y_valid: Tensor, task: Task,
                 ridges: Sequence[float] = (1e-3, 1e-1, 1e1)) -> float:
    """Validation score of the best ridge-regularised linear map (one-hot targets for
    classification), the baseline an RFM direction must beat."""
    x, y, x_valid, y_valid = (t.double() for t in (x, y, x_valid, y_valid))
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    z, z_valid = (x - mean) / std, (x_valid - mean) / std
    z = torch.cat((z, torch.ones(len(z), 1, dtype=z.dtype)), 1)
    z_valid = torch.cat((z_valid, torch.ones(len(z_valid), 1, dtype=z.dtype)), 1)
    best = float("-inf")
    for ridge in ridges:
        gram = z.T @ z
        gram.diagonal().add_(ridge * len(z))
        weights = torch.linalg.solve(gram, z.T @ y)
        best = max(best, score(task, z_valid @ weights, y_valid))
    return best


def signed_directions(result: RFMResult, x: Tensor, y: Tensor, task: Task) -> Tensor:
    """One unit direction per output ([k, d]; k = 1 for binary and regression): the top
    eigenvector of the metric for binary and regression targets, signed so that moving along
    it raises the label (the positive class, or the value); for multiclass, for each class the
    unit vector from the other classes' mean feature to its own, projected onto the metric's
    top eigenvectors (as many as there are classes), so it lies in the learned subspace."""
    x, y = x.double(), y.double()
    if task == "regression" or y.shape[1] == 2:
        direction = result.directions(1)[0]
        target = y[:, 0] if task == "regression" else y[:, 1]
        projection = x @ direction
        centred = (projection - projection.mean()) * (target - target.mean())
        return (direction if float(centred.sum()) >= 0 else -direction)[None]
    basis = result.directions(y.shape[1])  # [k, d]
    rows = []
    for c in range(y.shape[1]):
        inside, outside = y[:, c] > 0.5, y[:, c] <= 0.5
        gap = x[inside].mean(0) - x[outside].mean(0)
        projected = basis.T @ (basis @ gap)
        rows.append(projected / torch.linalg.vector_norm(projected).clamp_min(1e-12))
    return torch.stack(rows)
