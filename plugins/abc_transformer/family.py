"""The abc-transformer as a musegen model family: ``FAMILY``, found through the entry point
``abc-transformer = "musegen_plugins.abc_transformer.family:FAMILY"``.

This module imports no torch (``musegen plugins`` and ``--help`` stay fast): the trainer,
sampler and layers slots import ``training``, ``inference`` and ``layers`` when called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musegen_cli.plugin import Features, LazyLayers, LazySampler, LazyTrainer, ModelFamily

from .conditions import CONDITIONS
from .options import Options
from .tunesformer_codes import FORM_DECLARED

if TYPE_CHECKING:
    import torch

NAME = "abc-transformer"

#: One line per preset of ``model.PRESETS`` (a test checks the two agree).
PRESET_SUMMARIES: dict[str, str] = {
    "debug": "tiny random weights for tests (32 wide, 2+1 layers, 256 patches)",
    "small": "about 6M parameters (256/192 wide, 6+2 layers, 512 patches): CPU-trainable",
    "notagen-small": "NotaGen small shape (768 wide, 12+3 layers, 2048 patches)",
    "notagen-medium": "NotaGen medium shape (1024 wide, 16+3 layers, 2048 patches)",
    "notagen-large": "NotaGen large shape (1280 wide, 20+6 layers, 1024 patches)",
}


#: Models shipped inside the package, one folder each (musegen.json + model.safetensors).
BUNDLED_DIR = Path(__file__).parent / "weights"


def bundled_models() -> dict[str, Path]:
    """The shipped models by name; `default` is what `musegen generate` uses out of the box."""
    if not BUNDLED_DIR.is_dir():
        return {}
    return {d.name: d for d in sorted(BUNDLED_DIR.iterdir()) if (d / "musegen.json").is_file()}


class LogProbability:
    """Summed token log-probabilities of pieces under conditions, and what ``musegen dpo``
    needs to train on them: the module, differentiable sums, and saving the result."""

    def log_prob(self, model: Any, pieces: list[str], conditions: list[dict[str, str]]) -> list[float]:
        from .inference import log_prob

        return log_prob(model, pieces, conditions)

    def training_log_prob(self, model: Any, pieces: Sequence[str]) -> list[tuple[float, int]]:
        """(summed log-probability, characters scored) as training scores each piece
        (``musegen score --logprob``)."""
        from .inference import training_log_prob

        return training_log_prob(model, pieces)

    def trainable(self, model: Any) -> torch.nn.Module:
        return model.model

    def sequence_log_probs(self, model: Any, pieces: Sequence[str],
                           conditions: Sequence[Mapping[str, str]]) -> torch.Tensor:
        from .inference import sequence_log_probs

        return sequence_log_probs(model, pieces, conditions)

    def save(self, model: Any, folder: Path, provenance: Mapping[str, Any], metrics: Mapping[str, Any]) -> Path:
        from .inference import save

        return save(model, folder, provenance, metrics)


class CheckpointImporter:
    """``musegen models import --from notagen|tunesformer``: see ``checkpoint_import``."""

    def __init__(self, source: str, description: str) -> None:
        self.source, self.description = source, description

    def convert(self, checkpoint: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        from .checkpoint_import import convert

        model, weights = convert(checkpoint, self.source)
        return {"model": model, "conditions": {}, "condition_format": 1}, weights


IMPORTERS = {
    "notagen": CheckpointImporter("notagen", "NotaGen / NotaGen-X checkpoints (ElectricAlexis/NotaGen)"),
    "tunesformer": CheckpointImporter("tunesformer", "TunesFormer / EMusicGen checkpoints (monetjoe/EMusicGen)"),
}


#: What a loaded abc-transformer offers beyond `generate` (`musegen plugins` lists it).
FEATURES = Features(output="abc", streams=True, precisions=("fp32", "bf16", "int8"), compiled_steps=True,
                    training_log_prob=True, preference_training=True, layer_input="abc", train_options=Options)

FAMILY = ModelFamily(
    name=NAME,
    description="Bar-patch + character hierarchical transformer over ABC text (TunesFormer/EMusicGen, NotaGen).",
    version="0.1.0",
    conditions=CONDITIONS + FORM_DECLARED,
    presets=PRESET_SUMMARIES,
    trainer=LazyTrainer(f"{__package__}.training", options=Options),
    sampler=LazySampler(f"{__package__}.inference"),
    log_probability=LogProbability(),
    layers=LazyLayers(f"{__package__}.layers"),
    features=FEATURES,
    bundled_models=bundled_models,
    importers=IMPORTERS,
)
