"""Where a run starts, decided once for every trainer: resuming ``OUT/last`` (its options,
model config, preset and seed, with the user's ``--set`` values over its options), starting
from another model of the family (``--init-from``: its config and preset, fresh options), or
a preset's fresh weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from musegen_cli.errors import UserError
from musegen_cli.model_dir import read_manifest

from .run_folder import LAST

if TYPE_CHECKING:
    from musegen_cli.contract import TrainRequest

    from .state import SavedState

O = TypeVar("O")  # the family's options dataclass
C = TypeVar("C")  # the family's model config


@dataclass(frozen=True)
class Family(Generic[O, C]):
    """What the triage needs to know of a family."""

    name: str  # as in musegen.json
    noun: str  # how a refusal names one of its models: "an abc-transformer"
    read_options: Callable[[Mapping[str, Any], O | None], O]  # (values, base) -> options
    presets: Mapping[str, C]
    config_of: Callable[[Mapping[str, Any]], C]  # a manifest -> its model config
    saved_config: Callable[[Mapping[str, Any]], C]  # the saved training state -> its model config
    preset_options: Mapping[str, Mapping[str, Any]] | None = None  # option defaults by preset
    preset_word: str = "preset"  # "unknown {preset_word} 'x'"


@dataclass(frozen=True)
class Start(Generic[O, C]):
    """The triage's answer: settings of the run, and where its weights (and state) come from."""

    options: O
    config: C
    preset: str
    seed: int
    weights: Path | None = None  # the folder whose weights the net loads; None: fresh weights
    saved: SavedState | None = None  # the resumed run's state
    manifest: Mapping[str, Any] | None = None  # the --init-from model's musegen.json


@dataclass
class Run(Generic[O, C]):
    """The head of every trainer's run record: the request and the settings `start` chose.
    A family's own run dataclass inherits these fields and adds its data, nets and optimizer."""

    request: TrainRequest
    options: O
    config: C
    preset: str
    seed: int


def start(family: Family[O, C], out: Path, *, preset: str, seed: int, values: Mapping[str, Any],
          resume: bool = False, init_from: Path | None = None) -> Start[O, C]:
    """Resume, init-from or a fresh preset (module doc); every refusal is a `UserError`."""
    if resume:
        from .state import read_state

        saved = read_state(Path(out) / LAST)
        info = saved.info
        options = family.read_options(values, family.read_options(info["options"], None))
        return Start(options, family.saved_config(info), info["preset"], info["seed"], Path(out) / LAST, saved)
    if init_from is not None:
        manifest = read_manifest(Path(init_from))
        if manifest["family"] != family.name:
            raise UserError(f"--init-from {init_from} holds a {manifest['family']!r} model, not {family.noun}")
        chosen = manifest["config"].get("preset", preset)
        return Start(family.read_options(values, None), family.config_of(manifest), chosen, seed, Path(init_from),
                     manifest=manifest)
    if preset not in family.presets:
        raise UserError(f"unknown {family.preset_word} {preset!r}; choose one of: {', '.join(family.presets)}")
    defaults = (family.preset_options or {}).get(preset, {})
    return Start(family.read_options({**defaults, **values}, None), family.presets[preset], preset, seed)
