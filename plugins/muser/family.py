"""The muser family as a musegen model family: ``FAMILY``, found through the entry point
``muser = "musegen_plugins.muser.family:FAMILY"``.

This module imports no torch or miditok (``musegen plugins`` and ``--help`` stay fast): the
trainer and sampler slots import ``training`` and ``inference`` when called.
"""

from __future__ import annotations

from musegen_cli.plugin import Condition, Features, LazySampler, LazyTrainer, ModelFamily

from .options import Options

NAME = "muser"

#: One line per preset of ``model.PRESETS`` (a test checks the two agree).
PRESET_SUMMARIES: dict[str, str] = {
    "debug": "tiny random weights for tests (32 wide, 1+1+1 layers, 40-event windows, 16 codes per element)",
    "small": "about 5M parameters (192 wide, 3+3+4 layers, 256-event windows, 128 codes per element): CPU-trainable",
}

CONDITIONS = (
    Condition("emotion", "Russell quadrant the prior samples codes under", ("Q1", "Q2", "Q3", "Q4")),
)


#: A loaded muser model writes ABC and transfers elements between pieces (`musegen plugins`).
FEATURES = Features(output="abc", element_transfer=True, train_options=Options)

FAMILY = ModelFamily(
    name=NAME,
    description="Element-regularized VQ-VAE over compound-word MIDI tokens with an emotion prior (MusER).",
    version="0.1.0",
    conditions=CONDITIONS,
    presets=PRESET_SUMMARIES,
    trainer=LazyTrainer(f"{__package__}.training", options=Options),
    sampler=LazySampler(f"{__package__}.inference"),
    features=FEATURES,
)
