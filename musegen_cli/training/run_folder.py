"""Where a run writes: the latest weights and their training state in ``OUT/last``, the best
weights so far in ``best`` (``OUT`` itself, or a folder of its own), each a model folder
written atomically by `musegen_cli.model_dir.write_model_dir`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musegen_cli.model_dir import write_model_dir

if TYPE_CHECKING:
    import torch

LAST = "last"


@dataclass(frozen=True)
class RunFolder:
    out: Path
    best: Path

    @classmethod
    def at(cls, out: Path, best: str | None = None) -> RunFolder:
        """The run folder ``out``; the best model lands in ``out/best`` when given, else in ``out``."""
        return cls(Path(out), Path(out) / best if best else Path(out))

    @property
    def last(self) -> Path:
        return self.out / LAST

    def checkpoint(self, *, family: str, config: Mapping[str, Any], weights: Mapping[str, torch.Tensor],
                   provenance: Mapping[str, Any], metrics: Mapping[str, Any], is_best: bool,
                   optimizer: torch.optim.Optimizer, state: Mapping[str, Any],
                   device: torch.device | None = None) -> None:
        """Write the latest model and its training state, and the best model when ``is_best``."""
        from .state import save_state

        folders = [self.last, self.best] if is_best else [self.last]
        for folder in folders:
            write_model_dir(folder, family=family, config=config, state_dict=weights, provenance=provenance,
                            metrics=metrics)
        save_state(self.last, optimizer, state, device)
