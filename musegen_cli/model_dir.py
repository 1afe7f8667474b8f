"""The self-describing model directory: `musegen.json` beside `model.safetensors`.

`musegen.json` names the family, the schema version, the model config, and the training
provenance and metrics. Weights are safetensors only: nothing a user hands musegen is ever
unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

if TYPE_CHECKING:
    import torch

MANIFEST = "musegen.json"
WEIGHTS = "model.safetensors"
SCHEMA_VERSION = 1


def is_model_dir(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def read_manifest(path: Path) -> dict[str, Any]:
    """The parsed `musegen.json` of a model directory, checked for the fields musegen needs."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise UserError(f"{path} is not a musegen model directory (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{manifest_path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("family"), str):
        raise UserError(f"{manifest_path} does not name a model family")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UserError(
            f"{manifest_path} has schema version {version!r}; this musegen reads up to "
            f"{SCHEMA_VERSION}: upgrade musegen"
        )
    return manifest


def write_model_dir(
    path: Path,
    *,
    family: str,
    config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    provenance: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> Path:
    """Save weights and manifest atomically (weights first, so a manifest never lies)."""
    from safetensors.torch import save

    tensors = {name: tensor.detach().contiguous().cpu() for name, tensor in state_dict.items()}
    atomic_write(path / WEIGHTS, save(tensors))
    manifest = {
        "family": family,
        "schema_version": SCHEMA_VERSION,
        "config": dict(config),
        "provenance": dict(provenance or {}),
        "metrics": dict(metrics or {}),
    }
    atomic_write(path / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def training_record(folder: Path) -> dict[str, Any]:
    """The manifest a training run left in ``folder``: the model's own, else that of its latest
    checkpoint (``folder/last``, where the trainers keep one). `train --resume` reads the family
    and the seed from it."""
    for candidate in (folder, folder / "last"):
        if is_model_dir(candidate):
            return read_manifest(candidate)
    raise UserError(f"--resume: {folder} holds no model yet (no {MANIFEST}); train without --resume")


def load_weights(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Tensors from `model.safetensors` (no pickle involved)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_path = path / WEIGHTS
    if not weights_path.is_file():
        raise UserError(f"{path} has no {WEIGHTS}")
    try:
        return load_file(weights_path, device=str(device))
    except (SafetensorError, OSError) as exc:
        raise UserError(f"{weights_path} is not a readable safetensors file: {exc}") from None


def size_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def weights_hash(path: Path) -> str:
    """A short hash of `model.safetensors`: what steering directions record, so that they are
    never applied to a model other than the one they were found in."""
    import hashlib

    digest = hashlib.sha256()
    with (path / WEIGHTS).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
