"""RFM on synthetic features whose label depends on a known direction."""

from __future__ import annotations

import pytest
import torch

from musegen_cli.steering import rfm


def _direction(d: int, seed: int) -> torch.Tensor:
    u = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return u / u.norm()


def _data(n: int, u: torch.Tensor, seed: int, task: str):
    """Gaussian features; the label is the sign of (classification) or tanh of (regression) x.u."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, len(u), generator=g, dtype=torch.float64)
    t = x @ u
    if task == "regression":
        return x, (torch.tanh(2 * t) + 0.05 * torch.randn(n, generator=g, dtype=torch.float64))[:, None]
    return x, rfm.one_hot((t > 0).long(), 2)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_top_direction_finds_the_concept_and_points_up_the_label(task):
    u = _direction(12, 0)
    x, y = _data(300, u, 1, task)
    xv, yv = _data(120, u, 2, task)
    result = rfm.fit_rfm(x, y, xv, yv, task, rfm.RFMSettings(bandwidth=10.0, ridge=1e-3, rounds=3))
    (direction,) = rfm.signed_directions(result, x, y, task)
    assert float(direction @ u) > 0.9
    assert result.score > (0.85 if task == "classification" else 0.7)
    assert len(result.history) == 4 and result.score == max(result.history)


def test_agop_matches_autograd_on_a_small_problem():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(15, 4, generator=g, dtype=torch.float64)
    alpha = torch.randn(15, 2, generator=g, dtype=torch.float64)
    a = torch.randn(4, 4, generator=g, dtype=torch.float64)
    metric = a @ a.T + torch.eye(4, dtype=torch.float64)
    settings = rfm.RFMSettings(bandwidth=3.0, exponent=1.5)
    rows = []
    for i in range(15):
        point = x[i].clone().requires_grad_(True)
        others = torch.cat((x[:i], x[i + 1 :]))
        k, _ = rfm.kernel(point[None], others, metric, settings.bandwidth, settings.exponent)
        outputs = k @ torch.cat((alpha[:i], alpha[i + 1 :]))
        rows += [torch.autograd.grad(outputs[0, c], point, retain_graph=True)[0] for c in range(2)]
    grads = torch.stack(rows)
    expected = grads.T @ grads / 15
    torch.testing.assert_close(rfm.agop(x, alpha, metric, settings), expected)


def test_multiclass_directions_point_at_their_class():
    g = torch.Generator().manual_seed(5)
    centres = torch.eye(6, dtype=torch.float64)[:3] * 3
    labels = torch.randint(0, 3, (240,), generator=g)
    x = centres[labels] + torch.randn(240, 6, generator=g, dtype=torch.float64)
    y = rfm.one_hot(labels, 3)
    result = rfm.search(x[:180], y[:180], x[180:], y[180:], "classification",
                        grid={"bandwidth": (10.0,), "ridge": (1e-2,)}, rounds=2)
    directions = rfm.signed_directions(result, x[:180], y[:180], "classification")
    assert directions.shape == (3, 6)
    assert all(int(directions[c].argmax()) == c for c in range(3))
    assert result.score > 0.85


def test_the_linear_probe_is_a_fair_baseline():
    x, y = _data(300, _direction(8, 7), 8, "classification")
    score = rfm.linear_probe(x[:200], y[:200], x[200:], y[200:], "classification")
    assert 0.85 < score <= 1.0


def test_search_tries_the_grid_and_keeps_the_best():
    x, y = _data(120, _direction(6, 9), 10, "classification")
    result = rfm.search(x[:80], y[:80], x[80:], y[80:], "classification",
                        grid={"bandwidth": (0.01, 10.0), "centre": (False, True)}, rounds=1)
    assert result.settings.bandwidth == 10.0  # a tiny bandwidth cannot generalise
