"""Importing another project's checkpoint as a musegen model folder (`musegen models import`).

The checkpoint is read with ``torch.load(weights_only=True)``: its pickle may hold tensors
and plain values only, so a file carrying code is refused before any of it runs. A family
that can import a source names it in `ModelFamily.importers`; its importer turns the loaded
object into a model config and a state dict, checking every shape, and the core writes an
ordinary model folder whose manifest records the source format and the file's sha256. Nothing
in the output depends on the time or the machine, so importing twice gives identical files.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from musegen_cli.errors import UserError
from musegen_cli.model_dir import is_model_dir, write_model_dir
from musegen_cli.registry import ModelFamily, Registry


class Importer(Protocol):
    """What a family offers for one source format."""

    description: str

    def convert(self, checkpoint: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """(model config for musegen.json, state dict of tensors); UserError if it does not fit."""


@dataclass(frozen=True)
class Imported:
    path: Path
    family: str
    source: str
    sha256: str
    parameters: int


def sources(registry: Registry) -> dict[str, ModelFamily]:
    """Source format -> the family that imports it."""
    return {source: family for family in registry.families.values() for source in family.importers}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checkpoint(path: Path) -> Mapping[str, Any]:
    """A checkpoint's top-level mapping, unpickled with tensors and plain values only."""
    import torch

    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise UserError(f"{path} holds Python objects besides tensors and plain values; "
                            "refusing to unpickle it (musegen never runs a checkpoint's code)") from None
        raise UserError(f"{path} is not a readable PyTorch checkpoint (truncated or damaged)") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile):
        raise UserError(f"{path} is not a readable PyTorch checkpoint (truncated or damaged)") from None
    if not isinstance(loaded, Mapping):
        raise UserError(f"{path} holds a {type(loaded).__name__}, not a checkpoint dictionary")
    return loaded


def import_checkpoint(path: Path, source: str, output: Path, registry: Registry,
                      name: str | None = None) -> Imported:
    """Convert ``path`` (of format ``source``) into the model folder ``output``."""
    known = sources(registry)
    if source not in known:
        raise UserError(f"unknown source format {source!r}; known formats: {', '.join(sorted(known)) or 'none'}")
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not is_model_dir(output))):
        raise UserError(f"{output} exists and is not a model folder; choose another -o")
    family = known[source]
    checkpoint = read_checkpoint(path)
    config, state = family.importers[source].convert(checkpoint)
    digest = file_sha256(path)
    provenance = {"imported_from": {"format": source, "file": path.name, "sha256": digest}}
    if name:
        provenance["name"] = name
    write_model_dir(output, family=family.name, config=config, state_dict=state, provenance=provenance)
    return Imported(output, family.name, source, digest, sum(t.numel() for t in state.values()))
