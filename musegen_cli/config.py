"""Layered settings: built-in defaults < user musegen.toml < ./musegen.toml < MUSEGEN_* < flags.

Settings are dotted keys (`device`, `generate.temperature`); in TOML a dotted key is a table
(`[generate]` then `temperature = 0.9`), in the environment it is upper case with `_` for the
dot (`MUSEGEN_GENERATE_TEMPERATURE=0.9`). Every value remembers where it came from, so
`musegen config` can say why a setting has the value it has.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musegen_cli import paths
from musegen_cli.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

ENV_PREFIX = "MUSEGEN_"

#: Every setting musegen reads, with its built-in default and a one-line description.
DEFAULTS: dict[str, tuple[Any, str]] = {
    "device": ("auto", "where models run: auto, cpu, cuda, cuda:N or mps"),
    "threads": (0, "CPU threads for torch; 0 lets torch decide"),
    "model": ("default", "model used when a command is given none: a name or a path"),
}


TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    source: str  # "default", a file path, or an environment variable name


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


def _coerce(key: str, value: Any, source: str) -> Any:
    """Check a value against the type of its default; parse strings from the environment."""
    default = DEFAULTS[key][0]
    wanted = type(default)
    kind = TYPE_NAMES[wanted]
    if isinstance(value, str) and wanted is not str:
        try:
            if wanted is bool:
                lowered = value.strip().lower()
                if lowered not in {"1", "0", "true", "false", "yes", "no"}:
                    raise ValueError(value)
                return lowered in {"1", "true", "yes"}
            return wanted(value)
        except ValueError:
            raise UserError(f"{source}: {key} must be {kind}, got {value!r}") from None
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
        raise UserError(f"{source}: {key} must be {kind}, got {value!r}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    flat = _flatten(data)
    unknown = sorted(set(flat) - set(DEFAULTS))
    if unknown:
        known = ", ".join(sorted(DEFAULTS))
        raise UserError(f"{path}: unknown setting {unknown[0]!r} (known: {known})")
    return flat


def env_name(key: str) -> str:
    """`generate.top_k` -> `MUSEGEN_GENERATE_TOP_K`."""
    return ENV_PREFIX + key.upper().replace(".", "_")


def config_files() -> list[Path]:
    """The TOML files read, lowest priority first."""
    return [paths.user_config_file(), paths.project_config_file()]


def load(environ: Mapping[str, str] | None = None) -> dict[str, Setting]:
    """The effective settings and where each came from."""
    environ = os.environ if environ is None else environ
    settings = {key: Setting(key, default, "default") for key, (default, _) in DEFAULTS.items()}
    for path in config_files():
        if path.is_file():
            for key, value in _read_toml(path).items():
                settings[key] = Setting(key, _coerce(key, value, str(path)), str(path))
    for key in DEFAULTS:
        name = env_name(key)
        if name in environ:
            settings[key] = Setting(key, _coerce(key, environ[name], name), name)
    return settings


def get(key: str, flag: Any = None) -> Any:
    """A setting's value; a flag given on the command line (not None) wins."""
    if flag is not None:
        return flag
    return load()[key].value
