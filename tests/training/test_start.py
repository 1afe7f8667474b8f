"""Resume / init-from / preset triage (musegen_cli.training.start) and the loop pieces."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from musegen_cli.errors import UserError
from musegen_cli.model_dir import write_model_dir
from musegen_cli.training.loop import Clock, ProgressWindow, decay_groups, optimizer_step
from musegen_cli.training.options import POSITIVE_WHOLE, read_options, setting
from musegen_cli.training.start import Family, start
from musegen_cli.training.state import save_state


@dataclass(frozen=True)
class Knobs:
    steps: int = setting(10, POSITIVE_WHOLE)
    batch: int = setting(4, POSITIVE_WHOLE)


FAMILY = Family(
    name="toy", noun="a toy model",
    read_options=lambda values, base: read_options(Knobs, values, base, owner="toy"),
    presets={"tiny": {"width": 2}, "big": {"width": 64}},
    config_of=lambda manifest: manifest["config"]["model"],
    saved_config=lambda info: info["model"],
    preset_options={"tiny": {"steps": 2}},
)


def test_a_fresh_run_takes_the_preset_and_its_option_defaults_under_the_users():
    begun = start(FAMILY, "unused", preset="tiny", seed=5, values={"batch": 8})
    assert begun.options == Knobs(steps=2, batch=8) and begun.config == {"width": 2}
    assert (begun.preset, begun.seed, begun.weights, begun.saved) == ("tiny", 5, None, None)
    with pytest.raises(UserError, match="unknown preset 'huge'; choose one of: tiny, big"):
        start(FAMILY, "unused", preset="huge", seed=5, values={})


def test_resume_takes_the_saved_settings_with_the_users_values_over_them(tmp_path):
    optimizer = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters())
    save_state(tmp_path / "last", optimizer, {"options": {"steps": 7, "batch": 3}, "model": {"width": 9},
                                              "preset": "big", "seed": 11})
    begun = start(FAMILY, tmp_path, preset="tiny", seed=0, values={"steps": 20}, resume=True)
    assert begun.options == Knobs(steps=20, batch=3) and begun.config == {"width": 9}
    assert (begun.preset, begun.seed, begun.weights) == ("big", 11, tmp_path / "last")
    assert begun.saved is not None and begun.saved.info["seed"] == 11


def test_init_from_takes_the_models_config_and_refuses_another_family(tmp_path):
    weights = {"w": torch.zeros(1)}
    write_model_dir(tmp_path / "mine", family="toy", config={"model": {"width": 3}, "preset": "big"}, state_dict=weights)
    write_model_dir(tmp_path / "other", family="alien", config={}, state_dict=weights)
    begun = start(FAMILY, tmp_path / "out", preset="tiny", seed=2, values={}, init_from=tmp_path / "mine")
    assert begun.config == {"width": 3} and begun.preset == "big" and begun.options == Knobs()
    assert begun.weights == tmp_path / "mine" and begun.manifest["family"] == "toy"
    with pytest.raises(UserError, match="holds a 'alien' model, not a toy model"):
        start(FAMILY, tmp_path / "out", preset="tiny", seed=2, values={}, init_from=tmp_path / "other")


def test_clock_counts_earlier_runs_and_knows_a_budget():
    clock = Clock(before=120.0)
    assert clock.seconds >= 120 and clock.past(2) and not clock.past(3) and not clock.past(None)


def test_progress_window_reports_the_mean_and_starts_again():
    window = ProgressWindow()
    window.add(1.0, 10)
    window.add(3.0, 30)
    loss, rate = window.report()
    assert loss == 2.0 and rate > 0 and window.steps == 0 and window.amount == 0


def test_matrices_decay_and_a_clipped_step_moves_the_weights():
    net = torch.nn.Linear(3, 2)
    groups = decay_groups(net.parameters(), 0.1)
    assert [len(g["params"]) for g in groups] == [1, 1] and groups[1]["weight_decay"] == 0.0
    optimizer = torch.optim.SGD(groups, lr=1.0)
    before = net.weight.detach().clone()
    (net(torch.ones(1, 3)).sum() * 1000).backward()
    optimizer_step(optimizer, grad_clip=1.0)
    assert net.weight.grad is None
    moved = net.weight.detach() - before
    assert 0 < float(moved.norm()) <= 1.0 + 1e-5
