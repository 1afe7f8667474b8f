"""The muser family as a musegen model family: ``FAMILY``, found through the entry point
``muser = "musegen_plugins.muser.family:FAMILY"``.

This module imports no torch or miditok (``musegen plugins`` and ``--help`` stay fast): each
slot is a thin object whose methods import ``training`` or ``inference`` when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from musegen_cli.registry import Condition, ModelFamily

from .options import Options

if TYPE_CHECKING:
    import torch

    from musegen_cli.contract import ProgressCallback, TrainRequest

NAME = "muser"

#: One line per preset of ``model.PRESETS`` (a test checks the two agree).
PRESET_SUMMARIES: dict[str, str] = {
    "debug": "tiny random weights for tests (32 wide, 1+1+1 layers, 40-event windows, 16 codes per element)",
    "small": "about 5M parameters (192 wide, 3+3+4 layers, 256-event windows, 128 codes per element): CPU-trainable",
}

CONDITIONS = (
    Condition("emotion", "Russell quadrant the prior samples codes under", ("Q1", "Q2", "Q3", "Q4")),
)


class Trainer:
    """``musegen train --family muser``: both stages, see ``training``; ``options`` holds the
    ``--set`` keys (``musegen train --help`` lists them)."""

    options = Options

    def train(self, request: TrainRequest, on_progress: ProgressCallback) -> Path:
        from .training import train

        return train(request, on_progress)


class Sampler:
    def load(self, model_dir: Path, device: torch.device | str = "cpu") -> Any:
        from .inference import load

        return load(model_dir, device)


FAMILY = ModelFamily(
    name=NAME,
    description="Element-regularized VQ-VAE over compound-word MIDI tokens with an emotion prior (MusER).",
    version="0.1.0",
    trainer=Trainer(),
    sampler=Sampler(),
    conditions=CONDITIONS,
    presets=PRESET_SUMMARIES,
)
