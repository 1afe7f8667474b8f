"""The one module a model family imports: everything musegen offers a plugin, in one place.

A family (built-in or third-party) writes ``from musegen_cli.plugin import ...`` and nothing
else from musegen; ``tests/test_plugin_surface.py`` holds the built-in families to that. What
is here:

- the contract: `ModelFamily`, `Condition`, `Features` (what loaded models declare they can
  do), the requests (`TrainRequest`, `GenerateRequest`, `SamplingOptions`) and the protocols;
- the core's checks: `check_conditions`, `UserError`, the layers' argument checks
  (`choose_layers`, `capture_conditions`);
- lazy slots (`LazyTrainer`, `LazySampler`, `LazyLayers`), so ``family.py`` names its modules
  instead of importing torch;
- model folders: `read_manifest`, `load_weights`, `write_model_dir`;
- the training chassis (`musegen_cli.training`): start triage, run folder, options from their
  fields' rules, schedule, clock, progress window, AdamW groups, saved state;
- the ABC ground floor a symbolic family writes and reads with (patches, bar checks, fields,
  modes, titles, formats, conversion) and the data pipeline's dataset folders.

Names that need torch (the chassis loop, saved state, patch batches) or the heavier readers
are imported on first use (module ``__getattr__``), so importing this module stays light and
``musegen plugins`` fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from musegen_cli.analysis.abc_header import parse_key
from musegen_cli.conditions import check_conditions
from musegen_cli.contract import (
    SAMPLING_DEFAULTS,
    Features,
    GenerateRequest,
    Layers,
    LoadedModel,
    LogProbability,
    ProgressCallback,
    Sampler,
    SamplingOptions,
    SteeringCallback,
    Trainer,
    TrainRequest,
    capture_conditions,
    choose_layers,
)
from musegen_cli.device import autocast_dtype
from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write, read_bytes
from musegen_cli.model_dir import MANIFEST, SCHEMA_VERSION, load_weights, read_manifest, write_model_dir
from musegen_cli.notation import abc_patches
from musegen_cli.notation.abc.fields import meter_value
from musegen_cli.notation.abc.modes import MAJOR_LIKE, MINOR_LIKE, colour
from musegen_cli.notation.abc.text import field_readable, header_fields, strip_comment
from musegen_cli.notation.abc_patches import (
    END,
    EOP,
    FIELD,
    PAD,
    TEXT_IDS,
    VOCAB_SIZE,
    encode,
    ends_bar,
    patch_text,
    split_units,
    to_ascii,
)
from musegen_cli.notation.abc_titles import with_title
from musegen_cli.notation.bar_check import BarCheck
from musegen_cli.parallel import default_workers, map_chunks
from musegen_cli.paths import cache_dir
from musegen_cli.registry import Condition, ModelFamily
from musegen_cli.slots import LazyLayers, LazySampler, LazyTrainer
from musegen_cli.training.options import (
    FRACTION,
    NON_NEGATIVE,
    POSITIVE_OR_NONE,
    POSITIVE_WHOLE,
    WHOLE,
    TrainingOptions,
    read_options,
    setting,
)
from musegen_cli.training.run_folder import RunFolder
from musegen_cli.training.schedule import warmup_cosine
from musegen_cli.training.start import Family as TrainingFamily
from musegen_cli.training.start import Run
from musegen_cli.training.start import start as start_run

if TYPE_CHECKING:
    from musegen_cli.analysis.features import analyze_score
    from musegen_cli.analysis.wav import read_wav, wav_bytes
    from musegen_cli.data.dataset import read_split
    from musegen_cli.data.resolve import dataset_folder, is_dataset
    from musegen_cli.notation.conversion import convert
    from musegen_cli.notation.formats import detect_format, parse_score, split_abc_tunes
    from musegen_cli.notation.patch_batches import LengthBatches, collate, crop_patches
    from musegen_cli.training.loop import (
        Clock,
        ProgressWindow,
        decay_groups,
        optimizer_step,
        set_learning_rate,
    )
    from musegen_cli.training.state import STATE_JSON, SavedState

#: Names imported on first use: they need torch or numpy, or read much of the ABC tool chain.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("analyze_score",), "musegen_cli.analysis.features"),
    **dict.fromkeys(("read_wav", "wav_bytes"), "musegen_cli.analysis.wav"),
    **dict.fromkeys(("read_split",), "musegen_cli.data.dataset"),
    **dict.fromkeys(("dataset_folder", "is_dataset"), "musegen_cli.data.resolve"),
    **dict.fromkeys(("convert",), "musegen_cli.notation.conversion"),
    **dict.fromkeys(("detect_format", "parse_score", "split_abc_tunes"), "musegen_cli.notation.formats"),
    **dict.fromkeys(("LengthBatches", "collate", "crop_patches"), "musegen_cli.notation.patch_batches"),
    **dict.fromkeys(
        ("Clock", "ProgressWindow", "decay_groups", "optimizer_step", "set_learning_rate"), "musegen_cli.training.loop"
    ),
    **dict.fromkeys(("STATE_JSON", "SavedState"), "musegen_cli.training.state"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


__all__ = [
    "END",
    "EOP",
    "FIELD",
    "FRACTION",
    "MAJOR_LIKE",
    "MANIFEST",
    "MINOR_LIKE",
    "NON_NEGATIVE",
    "PAD",
    "POSITIVE_OR_NONE",
    "POSITIVE_WHOLE",
    "SAMPLING_DEFAULTS",
    "SCHEMA_VERSION",
    "STATE_JSON",
    "TEXT_IDS",
    "VOCAB_SIZE",
    "WHOLE",
    "BarCheck",
    "Clock",
    "Condition",
    "Features",
    "GenerateRequest",
    "Layers",
    "LazyLayers",
    "LazySampler",
    "LazyTrainer",
    "LengthBatches",
    "LoadedModel",
    "LogProbability",
    "ModelFamily",
    "ProgressCallback",
    "ProgressWindow",
    "Run",
    "RunFolder",
    "Sampler",
    "SamplingOptions",
    "SavedState",
    "SteeringCallback",
    "TrainRequest",
    "Trainer",
    "TrainingFamily",
    "TrainingOptions",
    "UserError",
    "abc_patches",
    "analyze_score",
    "atomic_write",
    "autocast_dtype",
    "cache_dir",
    "capture_conditions",
    "check_conditions",
    "choose_layers",
    "collate",
    "colour",
    "convert",
    "crop_patches",
    "dataset_folder",
    "decay_groups",
    "default_workers",
    "detect_format",
    "encode",
    "ends_bar",
    "field_readable",
    "header_fields",
    "is_dataset",
    "load_weights",
    "map_chunks",
    "meter_value",
    "optimizer_step",
    "parse_key",
    "parse_score",
    "patch_text",
    "read_bytes",
    "read_manifest",
    "read_options",
    "read_split",
    "read_wav",
    "set_learning_rate",
    "setting",
    "split_abc_tunes",
    "split_units",
    "start_run",
    "strip_comment",
    "to_ascii",
    "warmup_cosine",
    "wav_bytes",
    "with_title",
    "write_model_dir",
]
