"""A directions folder: what `musegen steer fit` finds and `steer generate` applies.

    DIR/directions.safetensors   one tensor per layer, ``layer.NAME`` [outputs, hidden]
    DIR/directions.json          concept, task, labels, the model (name, family, weights hash),
                                 pooling, and per layer: RFM and linear-probe validation
                                 scores, the RFM settings and the activation scale

Binary and regression concepts have one direction per layer (pointing up the label: towards
the second class, or higher values); multiclass concepts one per class, in label order.
Written atomically; nothing is pickled.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

TENSORS = "directions.safetensors"
MANIFEST = "directions.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LayerFit:
    """How well the concept reads off one layer, and how big its activations are."""

    rfm_score: float
    linear_score: float
    settings: dict[str, Any]
    activation_scale: float  # RMS norm of the layer's pooled activations: strength 1 adds this much


@dataclass
class Directions:
    concept: str
    task: str  # "classification" or "regression"
    labels: list[str]  # class names; for regression, the value's name
    model: dict[str, str]  # name, family, weights_hash
    pooling: str
    vectors: dict[str, torch.Tensor]  # layer -> [outputs, hidden], unit rows
    layers: dict[str, LayerFit]
    notes: dict[str, Any] = field(default_factory=dict)  # pieces used, split sizes, ...

    def direction(self, layer: str, label: str | None = None) -> torch.Tensor:
        """The unit vector of a layer towards ``label`` (multiclass), or up the concept."""
        rows = self.vectors[layer]
        if label is None or len(rows) == 1:
            if len(rows) > 1:
                raise UserError(f"the {self.concept} directions have one vector per class; choose one of "
                                f"{', '.join(self.labels)}")
            return rows[0]
        if label not in self.labels:
            raise UserError(f"{self.concept} has no class {label!r}; choose one of {', '.join(self.labels)}")
        return rows[self.labels.index(label)]

    def check_model(self, weights_hash: str) -> None:
        if self.model.get("weights_hash") != weights_hash:
            raise UserError(
                f"these {self.concept} directions were fitted on model {self.model.get('name')!r} "
                f"(weights {self.model.get('weights_hash')}), not on this one ({weights_hash}); "
                "fit them again with `musegen steer fit` on this model"
            )


def save(directions: Directions, folder: Path) -> None:
    from safetensors.torch import save as save_tensors

    tensors = {f"layer.{name}": vectors.float().contiguous() for name, vectors in directions.vectors.items()}
    atomic_write(folder / TENSORS, save_tensors(tensors))
    manifest = {
        "format_version": FORMAT_VERSION,
        "concept": directions.concept,
        "task": directions.task,
        "labels": directions.labels,
        "model": directions.model,
        "pooling": directions.pooling,
        "layers": {name: asdict(fit) for name, fit in directions.layers.items()},
        "notes": directions.notes,
    }
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def load(folder: Path) -> Directions:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    manifest_path = folder / MANIFEST
    if not manifest_path.is_file() or not (folder / TENSORS).is_file():
        raise UserError(f"{folder} is not a directions folder (needs {MANIFEST} and {TENSORS}); "
                        "make one with `musegen steer fit`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        tensors = load_file(str(folder / TENSORS))
        layers = {name: LayerFit(**fit) for name, fit in manifest["layers"].items()}
        vectors = {name: tensors[f"layer.{name}"] for name in layers}
        return Directions(manifest["concept"], manifest["task"], list(manifest["labels"]), dict(manifest["model"]),
                          manifest["pooling"], vectors, layers, manifest.get("notes", {}))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, SafetensorError) as exc:
        raise UserError(f"{folder} holds a broken directions folder ({type(exc).__name__}: {exc})") from None
