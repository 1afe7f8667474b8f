"""The plugin registry: model families, what each can do, and how they are found.

A model family (the abc-transformer, a VQ-VAE, MusicGen, ...) is a `ModelFamily` object. Built-in
and third-party families register the same way: an entry point in the group `musegen.plugins`
that points at the object, e.g. in a plugin's pyproject.toml::

    [project.entry-points."musegen.plugins"]
    my-family = "my_package.family:FAMILY"

A family fills in only the parts it supports; its capabilities are read off what it filled in,
so a subcommand asks "who can train?" and never imports a family's code to find out.
`MUSEGEN_PLUGINS=a,b` loads only the named entry points (handy to isolate a broken plugin).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from importlib import metadata
from typing import Any

from musegen_cli.contract import Features
from musegen_cli.errors import MusegenError, UserError

ENTRY_POINT_GROUP = "musegen.plugins"
FILTER_ENV = "MUSEGEN_PLUGINS"

log = logging.getLogger(__name__)


class Capability(str, Enum):
    """What a family can do; each one unlocks a subcommand (see the design's contract table)."""

    TRAINER = "trainer"  # train
    SAMPLER = "sampler"  # generate
    CONDITIONS = "conditions"  # generate, evolve
    LOG_PROBABILITY = "log-probability"  # dpo
    LAYERS = "layers"  # steer
    CONDITIONING_VECTOR = "conditioning-vector"  # evolve
    PRESETS = "presets"  # all


#: Which capability each model-driven subcommand needs.
COMMAND_NEEDS: dict[str, Capability] = {
    "train": Capability.TRAINER,
    "generate": Capability.SAMPLER,
    "dpo": Capability.LOG_PROBABILITY,
    "steer": Capability.LAYERS,
    "evolve": Capability.CONDITIONS,  # a choice among conditions; directions need layers
}


@dataclass(frozen=True)
class Condition:
    """One condition a family accepts, e.g. emotion with values Q1..Q4.

    `values=None` means the valid values depend on the model (e.g. the keys seen in its
    training data): the loaded model's `known_conditions()` then lists them.
    """

    name: str
    description: str
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ModelFamily:
    """Everything musegen knows about one model family.

    The capability slots hold the family's own objects (a trainer, a sampler, ...). They are
    typed loosely here because each subcommand defines the protocol it calls; a family's
    module should keep heavy imports (torch, transformers) inside its methods so that
    listing plugins stays fast.
    """

    name: str
    description: str
    version: str = "0"
    trainer: Any = None
    sampler: Any = None
    conditions: tuple[Condition, ...] = ()
    log_probability: Any = None
    layers: Any = None
    conditioning_vector: Any = None
    presets: Mapping[str, str] = field(default_factory=dict)  # preset name -> one-line summary
    bundled_models: Callable[[], Mapping[str, Any]] | None = None  # name -> model directory
    importers: Mapping[str, Any] = field(default_factory=dict)  # source format -> importer (`model_import`)
    #: Model names users ask for that are not installed -> how to get one (`unknown model` says it).
    obtainable: Mapping[str, str] = field(default_factory=dict)
    #: What its loaded models can do beyond `generate` (streaming, precisions, audio, ...).
    features: Features = field(default_factory=Features)

    @property
    def capabilities(self) -> frozenset[Capability]:
        slots = {
            Capability.TRAINER: self.trainer,
            Capability.SAMPLER: self.sampler,
            Capability.CONDITIONS: self.conditions,
            Capability.LOG_PROBABILITY: self.log_probability,
            Capability.LAYERS: self.layers,
            Capability.CONDITIONING_VECTOR: self.conditioning_vector,
            Capability.PRESETS: self.presets,
        }
        return frozenset(cap for cap, slot in slots.items() if slot)

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities


class PluginError(MusegenError):
    """A plugin is broken or two plugins clash: the installation needs fixing (exit 2)."""

    exit_code = 2


@dataclass
class Registry:
    """The known families by name, and where each came from (an entry point or a test)."""

    families: dict[str, ModelFamily] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    load_errors: dict[str, str] = field(default_factory=dict)

    def register(self, family: ModelFamily, origin: str = "registered in code") -> None:
        if not isinstance(family, ModelFamily):
            raise PluginError(f"{origin} is not a musegen ModelFamily (got {type(family).__name__})")
        if family.name in self.families:
            raise PluginError(
                f"two plugins register the model family {family.name!r} "
                f"({self.origins[family.name]} and {origin}); uninstall one or set {FILTER_ENV}"
            )
        self.families[family.name] = family
        self.origins[family.name] = origin

    def get(self, name: str) -> ModelFamily:
        try:
            return self.families[name]
        except KeyError:
            known = ", ".join(sorted(self.families)) or "none installed"
            raise UserError(f"unknown model family {name!r}; known families: {known}") from None

    def with_capability(self, capability: Capability) -> list[ModelFamily]:
        return [f for name, f in sorted(self.families.items()) if f.supports(capability)]

    def require(self, command: str, family: str | None = None,
                capability: Capability | None = None) -> ModelFamily:
        """The family that will serve `command`, or a plain error saying none can (yet).
        ``capability`` overrides what the command needs by default (`COMMAND_NEEDS`), for a
        command whose need depends on how it is asked (evolve's genomes)."""
        capability = capability or COMMAND_NEEDS[command]
        if family is not None:
            chosen = self.get(family)
            if not chosen.supports(capability):
                raise UserError(
                    f"the model family {chosen.name!r} does not support '{command}' "
                    f"(it has no {capability.value} capability); see `musegen plugins`"
                )
            return chosen
        able = self.with_capability(capability)
        if not able:
            installed = ", ".join(sorted(self.families)) or "none"
            raise UserError(
                f"no installed model family supports '{command}' yet (it needs the "
                f"{capability.value} capability; installed families: {installed}); see `musegen plugins`"
            )
        if len(able) > 1:
            names = ", ".join(f.name for f in able)
            raise UserError(f"several families support '{command}' ({names}); choose one with --family")
        return able[0]


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def _allowed_names(environ: Mapping[str, str]) -> set[str] | None:
    value = environ.get(FILTER_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def discover(
    entry_points: Iterable[metadata.EntryPoint] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Registry:
    """Load every family advertised in the `musegen.plugins` entry-point group.

    A plugin that fails to import is recorded in `load_errors` and skipped, so one broken
    package does not take the whole command down; duplicates are an error.
    """
    environ = os.environ if environ is None else environ
    allowed = _allowed_names(environ)
    registry = Registry()
    for entry_point in _entry_points() if entry_points is None else entry_points:
        if allowed is not None and entry_point.name not in allowed:
            continue
        origin = f"entry point {entry_point.name!r} ({entry_point.value})"
        try:
            family = entry_point.load()
        except Exception as exc:  # a third-party import can fail in any way
            log.warning("could not load plugin %s: %s", origin, exc)
            registry.load_errors[entry_point.name] = f"{type(exc).__name__}: {exc}"
            continue
        if isinstance(family, ModelFamily) and family.name != entry_point.name:
            # MUSEGEN_PLUGINS filters by entry-point name, --family by family name: keep them one.
            raise PluginError(f"{origin} registers a family named {family.name!r}; name the entry point the same")
        registry.register(family, origin)
    return registry


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _registry
    if _registry is None:
        _registry = discover()
    return _registry


def reset_registry() -> None:
    """Forget the discovered registry (tests install fake plugins between calls)."""
    global _registry
    _registry = None
