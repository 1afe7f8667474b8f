"""The scorer as a model family, ``music-encoder``: ``FAMILY``, found through the entry point
``music-encoder = "musegen_cli.scoring.family:FAMILY"``.

A scorer is a model directory like any other (``musegen.json`` with family ``music-encoder``);
``musegen train --family music-encoder`` trains one (``encoder_training``), ``musegen models``
lists the bundled one as ``scorer``, and ``score``, the dpo rewards and evolve's listener load
it with ``scorer.load_scorer``. It trains but does not sample, so it has no sampler slot.

No torch here: the trainer slot imports ``encoder_training`` when called.
"""

from __future__ import annotations

from pathlib import Path

from musegen_cli.plugin import Features, LazyTrainer, ModelFamily
from musegen_cli.scoring.encoder_options import Options

NAME = "music-encoder"
#: The scorer shipped with musegen (what `load_scorer()` loads when given no folder).
DEFAULT_PATH = Path(__file__).parent / "weights" / "default"

#: One line per preset of ``scorer.PRESETS`` (a test checks the two agree).
PRESET_SUMMARIES: dict[str, str] = {
    "debug": "tiny random weights for tests (about 120k parameters, 32 wide, 1 layer, 64 patches): seconds",
    "small": "about 5M parameters (256 wide, 4 layers, 128 patches, 128-dim space): CPU-trainable",
}


def bundled_models() -> dict[str, Path]:
    """The shipped scorer, named ``scorer`` (``default`` names the abc-transformer's model)."""
    return {"scorer": DEFAULT_PATH} if (DEFAULT_PATH / "musegen.json").is_file() else {}


FAMILY = ModelFamily(
    name=NAME,
    description="Music and text encoders in one space with an emotion classifier: the scorer behind "
    "`musegen score`, the dpo rewards and evolve (M3/CLaMP-style).",
    version="0.1.0",
    trainer=LazyTrainer("musegen_cli.scoring.encoder_training", options=Options, function="train_request"),
    presets=PRESET_SUMMARIES,
    bundled_models=bundled_models,
    features=Features(train_options=Options),
)
