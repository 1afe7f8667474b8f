"""Capability slots that import a family's heavy module only when called.

A family's `family.py` is imported whenever the registry is read (`musegen plugins`, every
`--help`), so it must not import torch. These slots hold the name of the module that does the
work (``"musegen_plugins.muser.training"``) and import it on the first call: a family names
its modules instead of writing the same thin wrapper classes again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from musegen_cli.contract import ProgressCallback, SteeringCallback, TrainRequest


def _function(module: str, name: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(module), name)


class LazyTrainer:
    """The trainer slot: ``module.train(request, on_progress)`` (or the function named);
    ``options`` is the options dataclass (the `--set` keys), also declared in the family's
    `Features.train_options`."""

    def __init__(self, module: str, options: type | None = None, function: str = "train") -> None:
        self.module, self.options, self.function = module, options, function

    def train(self, request: TrainRequest, on_progress: ProgressCallback) -> Path:
        return _function(self.module, self.function)(request, on_progress)


class LazySampler:
    """The sampler slot: ``module.load(model_dir, device, **options)`` (the options are those the
    family's `Features` declares: ``precision``, ``compile_steps``)."""

    def __init__(self, module: str) -> None:
        self.module = module

    def load(self, model_dir: Path, device: torch.device | str = "cpu", **options: Any) -> Any:
        return _function(self.module, "load")(model_dir, device, **options)


class LazyLayers:
    """The layers slot: ``module.layer_names``, ``module.capture`` and ``module.steer``."""

    def __init__(self, module: str) -> None:
        self.module = module

    def names(self, model: Any) -> list[str]:
        return _function(self.module, "layer_names")(model)

    def capture(
        self, model: Any, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]] | None, pooling: str = "mean"
    ) -> Mapping[str, torch.Tensor]:
        return _function(self.module, "capture")(model, pieces, conditions, pooling)

    def steer(
        self, model: Any, add: SteeringCallback, layers: Sequence[str] | None = None
    ) -> AbstractContextManager[None]:
        return _function(self.module, "steer")(model, add, layers)
