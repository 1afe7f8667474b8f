"""What the core asks of a family's trainer, sampler and other capabilities.

A family puts objects satisfying these protocols in its `ModelFamily.trainer`, `sampler`,
`log_probability` and `layers` slots. Requests are plain dataclasses so that a plugin needs nothing
from musegen beyond this module to implement them; the core handles flags, config, device
choice, seeding and writing files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

#: Called by a trainer with progress figures (step, loss, ...) for the command to show.
ProgressCallback = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class TrainRequest:
    data: str  # a folder or file of music, or a named corpus such as "corpus"
    output: Path  # the model directory to write (checkpoints, musegen.json, weights)
    preset: str
    seed: int
    device: torch.device
    resume: bool = False
    init_from: Path | None = None  # fine-tune from this model directory
    options: Mapping[str, Any] = field(default_factory=dict)  # family-specific overrides


@dataclass(frozen=True)
class GenerateRequest:
    conditions: Mapping[str, str]  # condition name -> value, checked against the family
    count: int
    seed: int
    prime: str | None = None  # ABC text to continue
    max_bars: int | None = None  # bars to generate, not counting the prime's
    sampling: Mapping[str, float] = field(default_factory=dict)  # temperature, top_k, top_p


class Trainer(Protocol):
    """A trainer may also offer `options`: the dataclass whose fields are its `--set` keys
    (name, type, default), which `musegen train --help` lists. A trainer that resumes records
    its seed in the manifest's provenance (`provenance.seed`), which `--resume` reports."""

    def train(self, request: TrainRequest, on_progress: ProgressCallback) -> Path:
        """Fit a model, checkpointing into `request.output`; return the model directory."""


class LoadedModel(Protocol):
    """A model ready to sample. It may also offer `stream(request)`, yielding (piece index,
    text) as text is written, which `generate` uses to print bars live to a terminal, and
    `set_precision(name)` ("bf16", "int8"), which `generate --precision` calls."""

    def generate(self, request: GenerateRequest) -> list[str]:
        """Generate `request.count` pieces as ABC text."""

    def known_conditions(self) -> Mapping[str, tuple[str, ...]]:
        """Valid values of the conditions whose family declares `values=None`."""


class Sampler(Protocol):
    def load(self, model_dir: Path, device: torch.device) -> LoadedModel:
        """Load a model directory's weights onto a device."""


class LogProbability(Protocol):
    """The log-probability capability (dpo).

    `log_prob` scores; the other three let `musegen dpo` train the loaded model in place:
    the optimizer steps `trainable(model)`'s parameters, the loss is built from
    `sequence_log_probs`, and `save` writes the result as a model directory that the
    family's sampler loads like any other. The reference model of a run is a second
    `Sampler.load` of the starting model, so a family needs no copying logic of its own.
    """

    def log_prob(self, model: LoadedModel, pieces: list[str], conditions: list[dict[str, str]]) -> list[float]:
        """Summed token log-probability (nats) of each piece under its conditions."""

    def trainable(self, model: LoadedModel) -> torch.nn.Module:
        """The module whose parameters DPO updates (the loaded model's own, not a copy)."""

    def sequence_log_probs(self, model: LoadedModel, pieces: Sequence[str],
                           conditions: Sequence[Mapping[str, str]]) -> torch.Tensor:
        """Like `log_prob`, as a tensor [N] that carries gradients when they are enabled,
        scored under the prompt `generate` would have used for those conditions."""

    def save(self, model: LoadedModel, folder: Path, provenance: Mapping[str, Any],
             metrics: Mapping[str, Any]) -> Path:
        """Write the model as a model directory (musegen.json + model.safetensors)."""


#: `add(layer name, step) -> vector or None`: what to add to a layer's output at a step.
SteeringCallback = Callable[[str, int], "torch.Tensor | None"]


class Layers(Protocol):
    """The layers capability (steer): name the hookable layers, read them, add to them."""

    def names(self, model: LoadedModel) -> list[str]:
        """Every layer, shallow to deep."""

    def capture(self, model: LoadedModel, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]] | None,
                pooling: str = "mean") -> Mapping[str, torch.Tensor]:
        """Pooled activations {layer: [pieces, hidden]} ("mean" or "last" position)."""

    def steer(self, model: LoadedModel, add: SteeringCallback,
              layers: Sequence[str] | None = None) -> AbstractContextManager[None]:
        """While the context is active, generation adds `add(layer, step)` to layer outputs."""
