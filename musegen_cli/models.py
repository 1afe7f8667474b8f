"""Finding models by name or path: bundled with a family, saved by the user, or a folder.

A name is looked up in the user's models folder first (so a user can shadow a bundled model),
then among the folders the user registered by name (`registered_models`: runs trained with
`-o` anywhere), then among the families' bundled models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from musegen_cli import paths
from musegen_cli.errors import UserError
from musegen_cli.model_dir import is_model_dir, read_manifest, size_bytes
from musegen_cli.registered_models import registered
from musegen_cli.registry import Registry

#: The source of a registered name whose folder no longer holds a model (moved or deleted).
MISSING = "registered, missing"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    path: Path
    source: str  # "user", "registered", "bundled" or "path" (or MISSING)
    size_bytes: int

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "family": self.family,
            "path": str(self.path),
            "source": self.source,
            "size_bytes": self.size_bytes,
        }


def _info(name: str, path: Path, source: str) -> ModelInfo:
    manifest = read_manifest(path)
    return ModelInfo(name, manifest["family"], path, source, size_bytes(path))


def user_models() -> list[ModelInfo]:
    root = paths.models_dir()
    if not root.is_dir():
        return []
    return [_info(d.name, d, "user") for d in sorted(root.iterdir()) if is_model_dir(d)]


def registered_models() -> list[ModelInfo]:
    """The folders the user named with `musegen models add`; one that holds no model any more
    is listed as MISSING rather than hidden, so that the user sees what to remove."""
    return [_info(name, path, "registered") if is_model_dir(path) else ModelInfo(name, "-", path, MISSING, 0)
            for name, path in sorted(registered().items())]


def bundled_models(registry: Registry) -> list[ModelInfo]:
    found = []
    for family in registry.families.values():
        if family.bundled_models is None:
            continue
        for name, path in sorted(family.bundled_models().items()):
            found.append(_info(name, Path(path), "bundled"))
    return found


def list_models(registry: Registry) -> list[ModelInfo]:
    return user_models() + registered_models() + bundled_models(registry)


def resolve_model(name_or_path: str, registry: Registry) -> ModelInfo:
    """A model by folder path, or by name: a user model, a registered run, or a bundled model."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not is_model_dir(path):
            raise UserError(f"{path} is not a musegen model directory (no musegen.json)")
        return _info(path.name, path, "path")
    known = list_models(registry)
    for model in known:
        if model.name == name_or_path and model.source == MISSING:
            raise UserError(f"the model {model.name!r} is registered for {model.path}, which holds no model any more; "
                            f"`musegen models remove {model.name}`, or add the folder where it is now")
        if model.name == name_or_path:
            return model
    names = ", ".join(sorted({m.name for m in known})) or "none installed"
    hints = [f.obtainable[name_or_path] for f in registry.families.values() if name_or_path in f.obtainable]
    how = f"; {hints[0]}" if hints else ""
    raise UserError(f"unknown model {name_or_path!r}: not a folder, nor a known model ({names}){how}")
