"""Saved training state and the run folder (musegen_cli.training.state, run_folder)."""

from __future__ import annotations

import json

import pytest
import torch

from musegen_cli.errors import UserError
from musegen_cli.model_dir import load_weights, read_manifest
from musegen_cli.training.run_folder import RunFolder
from musegen_cli.training.state import STATE_JSON, STATE_TENSORS, read_state, save_state


def _trained_optimizer() -> tuple[torch.nn.Linear, torch.optim.AdamW]:
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(net.parameters(), lr=0.1, betas=(0.8, 0.9))
    for _ in range(3):
        net(torch.randn(4, 3)).square().sum().backward()
        optimizer.step()
        optimizer.zero_grad()
    return net, optimizer


def test_state_round_trips_moments_groups_rng_and_info(tmp_path):
    net, optimizer = _trained_optimizer()
    save_state(tmp_path, optimizer, {"step": 3, "options": {"lr": 0.1}})
    expected_draw = torch.rand(5)
    saved = read_state(tmp_path)
    assert saved.info["step"] == 3 and saved.info["options"] == {"lr": 0.1}
    fresh = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    saved.restore_optimizer(fresh)
    for before, after in zip(optimizer.state.values(), fresh.state.values()):
        assert torch.equal(before["exp_avg"], after["exp_avg"]) and torch.equal(before["exp_avg_sq"], after["exp_avg_sq"])
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.param_groups[0]["betas"] == (0.8, 0.9)
    saved.restore_rng()
    assert torch.equal(torch.rand(5), expected_draw)


def test_state_holds_no_pickle(tmp_path):
    _, optimizer = _trained_optimizer()
    save_state(tmp_path, optimizer, {"step": 3})
    json.loads((tmp_path / STATE_JSON).read_text())
    from safetensors.torch import load_file

    assert "rng.torch" in load_file(tmp_path / STATE_TENSORS)


def test_a_state_saved_before_the_shared_core_still_loads(tmp_path):
    """abc-transformer run folders kept param_groups and scalars under "optimizer"."""
    _, optimizer = _trained_optimizer()
    save_state(tmp_path, optimizer, {"step": 3})
    info = json.loads((tmp_path / STATE_JSON).read_text())
    legacy = {"step": 3, "optimizer": {"param_groups": info["param_groups"], "scalars": {}}}
    (tmp_path / STATE_JSON).write_text(json.dumps(legacy))
    fresh = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    read_state(tmp_path).restore_optimizer(fresh)
    assert fresh.param_groups[0]["betas"] == (0.8, 0.9) and len(fresh.state) == 2


def test_missing_or_broken_state_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="holds no training state"):
        read_state(tmp_path)
    (tmp_path / STATE_JSON).write_text("{not json")
    (tmp_path / STATE_TENSORS).write_bytes(b"junk")
    with pytest.raises(UserError, match="unreadable training state"):
        read_state(tmp_path)


def test_run_folder_writes_last_always_and_best_when_asked(tmp_path):
    net, optimizer = _trained_optimizer()
    folder = RunFolder.at(tmp_path / "run", best="best")
    write = dict(family="toy", config={"width": 3}, weights=net.state_dict(), provenance={"seed": 1},
                 optimizer=optimizer, state={"step": 1})
    folder.checkpoint(**write, metrics={"loss": 2.0}, is_best=False)
    assert read_manifest(folder.last)["metrics"] == {"loss": 2.0} and not (folder.best / "musegen.json").exists()
    assert read_state(folder.last).info["step"] == 1
    folder.checkpoint(**write, metrics={"loss": 1.0}, is_best=True)
    assert read_manifest(folder.best)["family"] == "toy"
    assert torch.equal(load_weights(folder.best)["weight"], net.weight.detach())


def test_the_best_model_defaults_to_the_run_folder_itself(tmp_path):
    assert RunFolder.at(tmp_path).best == tmp_path and RunFolder.at(tmp_path).last == tmp_path / "last"
