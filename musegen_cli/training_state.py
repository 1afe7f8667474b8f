"""A trainer's resumable state without pickle: optimizer moments and torch's RNG as
safetensors, everything else (step, options, parameter groups) as JSON, both written
atomically. Used by the scorer's and the muser family's trainers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

STATE_JSON = "training_state.json"
STATE_TENSORS = "training_state.safetensors"


def save_state(folder: Path, optimizer: torch.optim.Optimizer, info: Mapping[str, Any]) -> None:
    from safetensors.torch import save

    state = optimizer.state_dict()
    tensors = {f"optimizer.{index}.{key}": value.detach().cpu().contiguous()
               for index, slots in state["state"].items() for key, value in slots.items()}
    tensors["rng.torch"] = torch.get_rng_state()
    atomic_write(folder / STATE_TENSORS, save(tensors))
    payload = {**info, "param_groups": state["param_groups"]}
    atomic_write(folder / STATE_JSON, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def read_state(folder: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(the JSON, the tensors) saved in ``folder``; a clear error when there are none."""
    from safetensors.torch import load_file

    if not (folder / STATE_JSON).is_file() or not (folder / STATE_TENSORS).is_file():
        raise UserError(f"--resume: {folder} holds no training state ({STATE_JSON}); train without --resume")
    return json.loads((folder / STATE_JSON).read_text(encoding="utf-8")), load_file(folder / STATE_TENSORS)


def load_optimizer(optimizer: torch.optim.Optimizer, info: Mapping[str, Any],
                   tensors: Mapping[str, torch.Tensor]) -> None:
    """Put the saved moments and parameter groups back into ``optimizer``."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    groups = [{**g, "betas": tuple(g["betas"])} for g in info["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
