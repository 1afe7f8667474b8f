"""A trainer's resumable state without pickle: optimizer moments and torch's RNG states as
safetensors, everything else (step, options, parameter groups) as JSON, both written
atomically next to the ``last`` weights.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

STATE_JSON = "training_state.json"
STATE_TENSORS = "training_state.safetensors"


def save_state(folder: Path, optimizer: torch.optim.Optimizer, info: Mapping[str, Any],
               device: torch.device | None = None) -> None:
    """Write ``info`` (JSON-able), the optimizer and the RNG states (CUDA's on a CUDA ``device``)."""
    from safetensors.torch import save

    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if device is not None and device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    atomic_write(folder / STATE_TENSORS, save(tensors))
    payload = {**info, "param_groups": state["param_groups"], "optimizer_scalars": scalars}
    atomic_write(folder / STATE_JSON, json.dumps(payload, indent=2, sort_keys=True) + "\n")


@dataclass
class SavedState:
    """What `save_state` wrote: ``info`` (the JSON) and ``tensors``."""

    info: dict[str, Any]
    tensors: dict[str, torch.Tensor]

    def restore_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Put the saved moments and parameter groups back into ``optimizer``."""
        # run folders written before the shared core kept both under "optimizer"
        layout = self.info.get("optimizer", self.info)
        state: dict[int, dict[str, Any]] = {}
        for name, value in self.tensors.items():
            if name.startswith("optimizer."):
                _, index, key = name.split(".", 2)
                state.setdefault(int(index), {})[key] = value
        for name, value in layout.get("optimizer_scalars", layout.get("scalars", {})).items():
            index, key = name.split(".", 1)
            state.setdefault(int(index), {})[key] = value
        groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in layout["param_groups"]]
        optimizer.load_state_dict({"state": state, "param_groups": groups})

    def restore_rng(self, device: torch.device | None = None) -> None:
        """Torch's RNG as it was at the checkpoint (and CUDA's, when saved and on CUDA)."""
        torch.set_rng_state(self.tensors["rng.torch"])
        if device is not None and device.type == "cuda" and "rng.cuda" in self.tensors:
            torch.cuda.set_rng_state(self.tensors["rng.cuda"], device)


def read_state(folder: Path) -> SavedState:
    """The state saved in ``folder``; a clear error when there is none."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not (folder / STATE_JSON).is_file() or not (folder / STATE_TENSORS).is_file():
        raise UserError(f"--resume: {folder} holds no training state ({STATE_JSON}); train without --resume")
    try:
        info = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        tensors = load_file(folder / STATE_TENSORS)
    except (json.JSONDecodeError, OSError, ValueError, SafetensorError) as exc:
        raise UserError(f"--resume: {folder} holds an unreadable training state ({type(exc).__name__})") from None
    return SavedState(info, tensors)
