"""Model folders a user named (`musegen models add PATH --name NAME`), wherever they are.

A trained run stays where `musegen train -o runs/mine` wrote it; registering it gives it a
name that every `--model`/`-m` resolves (`musegen_cli.models`). The names live in one small
JSON file in the user's data folder (`paths.data_dir()`, under `MUSEGEN_HOME` when set)::

    {"schema_version": 1, "models": {"mine": "/home/me/runs/mine"}}

Paths are stored absolute, so a name works from any folder. The file is rewritten whole and
atomically on every change, so a crash never leaves it half written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from musegen_cli import paths
from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write
from musegen_cli.model_dir import MANIFEST, is_model_dir

REGISTRY_FILE = "models.json"
SCHEMA_VERSION = 1


def registry_file() -> Path:
    return paths.data_dir() / REGISTRY_FILE


def registered() -> dict[str, Path]:
    """Every registered name and its folder (which may have been moved or deleted since)."""
    path = registry_file()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        models = data["models"]
        if not isinstance(models, dict) or not all(isinstance(v, str) for v in models.values()):
            raise TypeError
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise UserError(f"{path} is not a list of registered models; fix or delete it") from None
    return {name: Path(folder) for name, folder in models.items()}


def add(folder: Path, name: str | None, taken: Iterable[str]) -> tuple[str, Path]:
    """Register ``folder`` as ``name`` (default: the folder's name); ``taken`` are the names
    other models already answer to, which a new name may not shadow."""
    folder = Path(folder).expanduser().resolve()
    if not is_model_dir(folder):
        raise UserError(f"{folder} is not a musegen model directory (no {MANIFEST}); give the folder "
                        "`musegen train -o` wrote")
    name = folder.name if name is None else name
    if not name.strip() or Path(name).name != name or name != name.strip():
        raise UserError(f"invalid model name {name!r}: use a plain name without slashes")
    known = registered()
    if name in known:
        raise UserError(f"the name {name!r} is registered already (for {known[name]}); "
                        f"`musegen models remove {name}` first, or choose another --name")
    if name in set(taken):
        raise UserError(f"a model named {name!r} exists already; choose another --name")
    _save({**known, name: folder})
    return name, folder


def remove(name: str) -> Path:
    """Forget ``name``; the model folder itself is left alone. Returns the folder it named."""
    known = registered()
    if name not in known:
        names = ", ".join(sorted(known)) or "none"
        raise UserError(f"no registered model {name!r} (registered: {names})")
    folder = known.pop(name)
    _save(known)
    return folder


def _save(models: dict[str, Path]) -> None:
    data = {"schema_version": SCHEMA_VERSION, "models": {name: str(path) for name, path in sorted(models.items())}}
    atomic_write(registry_file(), json.dumps(data, indent=2) + "\n")
