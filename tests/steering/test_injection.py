"""Layer selection, schedules, injection probability, and directions folders."""

from __future__ import annotations

import math

import pytest
import torch

from musegen_cli.errors import UserError
from musegen_cli.steering import directions as dirs
from musegen_cli.steering.injection import SteeringSpec, layer_weights, schedule_factor, steering_callback


def _directions(scores=(0.5, 0.9, 0.7), hidden=4, labels=("major", "minor")) -> dirs.Directions:
    names = [f"patch.{i}" for i in range(len(scores))]
    vectors = {n: torch.nn.functional.normalize(torch.randn(1, hidden, generator=torch.Generator().manual_seed(i)), dim=1)
               for i, n in enumerate(names)}
    layers = {n: dirs.LayerFit(rfm_score=s, linear_score=s - 0.1, settings={"bandwidth": 10.0}, activation_scale=2.0)
              for n, s in zip(names, scores)}
    return dirs.Directions("mode", "classification", list(labels), {"name": "m", "family": "f", "weights_hash": "abc"},
                           "mean", vectors, layers, {"pieces": 10})


def test_layer_selection():
    scores = {"a": 0.5, "b": 0.9, "c": 0.7}
    assert layer_weights(scores, "all") == {"a": 1.0, "b": 1.0, "c": 1.0}
    assert layer_weights(scores, "top-k", top_k=2) == {"b": 1.0, "c": 1.0}
    weights = layer_weights(scores, "exp", base=2.0, decay=3.0)
    assert weights["b"] == 2.0 and weights["a"] == pytest.approx(2.0 * math.exp(-3.0))
    assert weights["c"] == pytest.approx(2.0 * math.exp(-3.0 * 0.5))
    with pytest.raises(UserError, match="unknown layer selection"):
        layer_weights(scores, "best")


@pytest.mark.parametrize(("schedule", "step", "expected"), [
    ("constant", 50, 1.0), ("exp-decay", 10, math.exp(-0.5)), ("linear-decay", 16, 0.75),
    ("linear-decay", 100, 0.0), ("linear-ramp", 16, 0.25), ("linear-ramp", 100, 1.0),
])
def test_schedules(schedule, step, expected):
    assert schedule_factor(schedule, step, horizon=64, rate=0.05) == pytest.approx(expected)


def test_the_callback_adds_strength_times_scale_times_direction_per_layer():
    found = _directions()
    spec = SteeringSpec(found, strength=-0.5, selection="top-k", top_k=1)
    add = steering_callback([spec])
    torch.testing.assert_close(add("patch.1", 3), -0.5 * 2.0 * found.vectors["patch.1"][0])
    assert add("patch.0", 3) is None and add("char.0", 3) is None
    both = steering_callback([spec, SteeringSpec(found, strength=0.5, selection="top-k", top_k=1)])
    torch.testing.assert_close(both("patch.1", 0), torch.zeros(4))


def test_injection_probability_is_one_draw_per_step_shared_by_layers_and_seeded():
    spec = SteeringSpec(_directions(), strength=1.0, selection="all", probability=0.5)
    add = steering_callback([spec], seed=4)
    pattern = [add("patch.0", step) is not None for step in range(200)]
    assert 60 < sum(pattern) < 140
    assert [add("patch.2", step) is not None for step in range(200)] == pattern  # same draws per step
    again = steering_callback([spec], seed=4)
    assert [again("patch.0", step) is not None for step in range(200)] == pattern


def test_bad_settings_are_user_errors():
    with pytest.raises(UserError, match="between 0 and 1"):
        SteeringSpec(_directions(), strength=1.0, probability=1.5)
    with pytest.raises(UserError, match="unknown schedule"):
        SteeringSpec(_directions(), strength=1.0, schedule="sometimes")


def test_directions_folders_round_trip_and_check_the_model(tmp_path):
    found = _directions()
    dirs.save(found, tmp_path / "mode")
    again = dirs.load(tmp_path / "mode")
    assert again.labels == ["major", "minor"] and again.layers == found.layers and again.notes == {"pieces": 10}
    torch.testing.assert_close(again.vectors["patch.2"], found.vectors["patch.2"])
    again.check_model("abc")
    with pytest.raises(UserError, match="fitted on model 'm'"):
        again.check_model("def")
    with pytest.raises(UserError, match="not a directions folder"):
        dirs.load(tmp_path)
    (tmp_path / "mode" / dirs.MANIFEST).write_text("{}")
    with pytest.raises(UserError, match="broken directions folder"):
        dirs.load(tmp_path / "mode")


def test_a_direction_without_a_strength_gets_one_in_the_measured_useful_range(tmp_path):
    from musegen_cli.steering.specs import parse_direction

    dirs.save(_directions(), tmp_path / "d")
    assert 0.1 <= parse_direction(str(tmp_path / "d")).strength <= 0.8
    assert parse_direction(f"{tmp_path / 'd'},strength=-0.3").strength == -0.3
