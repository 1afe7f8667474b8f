"""What the core asks of a family's trainer, sampler and other capabilities.

A family puts objects satisfying these protocols in its `ModelFamily.trainer`, `sampler`,
`log_probability` and `layers` slots, and declares in `Features` which optional abilities its
loaded models have, so the core reads a declaration instead of probing objects. Requests are
plain dataclasses (sampling settings a typed `SamplingOptions`); the core handles flags,
config, device choice, seeding, checking conditions and writing files. A family imports all of
this from `musegen_cli.plugin`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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


#: musegen's sampling defaults, the one set: used where neither the request nor the model's
#: own format (an imported NotaGen's top-k 9, top-p 0.9, temperature 1.2) names a value.
SAMPLING_DEFAULTS: Mapping[str, float] = {"temperature": 1.0, "top_k": 0, "top_p": 0.95, "bar_retries": 8}


@dataclass(frozen=True)
class SamplingOptions(Mapping[str, float]):
    """The sampling settings a request asks for; None leaves a setting to the model's own
    defaults, then to `SAMPLING_DEFAULTS` (`resolved` does both). As a mapping it holds the
    settings that are set, so `request.sampling.get("top_p", ...)` keeps working."""

    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    bar_retries: int | None = None  # tries at a bar that does not fit the meter (ABC families)
    duration: float | None = None  # seconds per piece (audio families)
    guidance_scale: float | None = None  # classifier-free guidance (audio families)

    @classmethod
    def of(cls, values: Mapping[str, float] | SamplingOptions | None) -> SamplingOptions:
        """Options from a plain mapping (unknown keys are a `ValueError`: a typo must not pass)."""
        if isinstance(values, SamplingOptions):
            return values
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values or {}) - names)
        if unknown:
            raise ValueError(f"unknown sampling setting {unknown[0]!r}; known: {', '.join(sorted(names))}")
        return cls(**dict(values or {}))

    def over(self, defaults: Mapping[str, float]) -> SamplingOptions:
        """These settings, with ``defaults`` where one is not set."""
        return SamplingOptions(**{f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                                  else defaults.get(f.name) for f in fields(self)})

    def resolved(self, model_defaults: Mapping[str, float] | None = None) -> SamplingOptions:
        """Every musegen setting filled in: the request's, else the model's own, else musegen's."""
        return self.over(model_defaults or {}).over(SAMPLING_DEFAULTS)

    def __getitem__(self, key: str) -> float:
        value = getattr(self, key, None) if key in self._names() else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._names() if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class GenerateRequest:
    conditions: Mapping[str, str]  # condition name -> value, checked by the core (`musegen_cli.conditions`)
    count: int
    seed: int
    prime: str | None = None  # ABC text to continue
    max_bars: int | None = None  # bars to generate, not counting the prime's
    sampling: SamplingOptions = field(default_factory=SamplingOptions)  # a plain mapping is converted

    def __post_init__(self) -> None:
        object.__setattr__(self, "sampling", SamplingOptions.of(self.sampling))


@dataclass(frozen=True)
class Features:
    """What a family's loaded models can do beyond `generate`, declared once (`ModelFamily.features`)
    so that commands read it instead of probing objects, and `musegen plugins` lists it."""

    output: str = "abc"  # what `generate` returns: "abc" text or "audio" (WAV bytes)
    streams: bool = False  # the model offers `stream(request)`: (piece index, text) as it is written
    precisions: tuple[str, ...] = ("fp32",)  # what `Sampler.load(..., precision=)` accepts
    compiled_steps: bool = False  # `Sampler.load(..., compile_steps=True)`: torch.compile'd sampling steps
    element_transfer: bool = False  # the model offers `transfer(source, donor, take, request)`
    training_log_prob: bool = False  # the log-probability slot offers `training_log_prob(model, pieces)`
    preference_training: bool = False  # the log-probability slot offers what `musegen dpo` trains with
    layer_input: str = "abc"  # what the layers slot reads: "abc" text or "audio" (WAV paths)
    train_options: type | None = None  # the trainer's options dataclass: its fields are the `--set` keys

    def listed(self) -> dict[str, Any]:
        """The declaration as JSON (`musegen plugins`): the options as their `--set` keys."""
        found = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "train_options"}
        options = self.train_options
        found["train_options"] = [f.name for f in fields(options)] if options is not None else []
        found["precisions"] = list(self.precisions)
        return found


class Trainer(Protocol):
    """The dataclass whose fields are its `--set` keys (name, type, default), which `musegen
    train --help` lists, is declared in `Features.train_options`. A trainer that resumes records
    its seed in the manifest's provenance (`provenance.seed`), which `--resume` reports."""

    def train(self, request: TrainRequest, on_progress: ProgressCallback) -> Path:
        """Fit a model, checkpointing into `request.output`; return the model directory."""


class LoadedModel(Protocol):
    """A model ready to sample. What else it offers (`stream`, `transfer`, audio output, ...)
    its family declares in `Features`."""

    def generate(self, request: GenerateRequest) -> list[str]:
        """Generate `request.count` pieces as ABC text."""

    def known_conditions(self) -> Mapping[str, tuple[str, ...]]:
        """Valid values of the conditions whose family declares `values=None`."""


@runtime_checkable
class Streams(Protocol):
    """A loaded model whose family declares `Features.streams`."""

    def stream(self, request: GenerateRequest) -> Iterator[tuple[int, str]]:
        """(piece index, text) as text is written: `generate` prints bars live to a terminal."""


@runtime_checkable
class Transfers(Protocol):
    """A loaded model whose family declares `Features.element_transfer`."""

    def transfer(self, source: Path, donor: Path, take: Sequence[str], request: GenerateRequest) -> list[str]:
        """`source` with the `take` elements (pitch, velocity, ...) of `donor`, as ABC pieces."""


class Sampler(Protocol):
    """`load` takes `precision=` and `compile_steps=` only where `Features` declares them: the
    core passes each only when it differs from the default (fp32, not compiled)."""

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


def choose_layers(available: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    """The layers asked for (all when None), each checked against the model's: the check every
    family's `Layers.steer` makes."""
    if wanted is None:
        return list(available)
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise ValueError(f"unknown layer {unknown[0]!r}; this model has {', '.join(available)}")
    return list(wanted)


def capture_conditions(pieces: Sequence[object], conditions: Sequence[Mapping[str, str]] | None,
                       pooling: str) -> list[Mapping[str, str]]:
    """One condition set per piece (none given: empty ones), after checking the pooling: the
    checks every family's `Layers.capture` makes."""
    if pooling not in ("mean", "last"):
        raise ValueError(f"pooling must be 'mean' or 'last', not {pooling!r}")
    given = list(conditions) if conditions is not None else [{}] * len(pieces)
    if len(given) != len(pieces):
        raise ValueError(f"{len(pieces)} pieces but {len(given)} condition sets")
    return given
