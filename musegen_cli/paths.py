"""Where musegen keeps its files: config, user models, caches.

Platform-appropriate folders come from platformdirs. Setting `MUSEGEN_HOME` puts everything
under one folder instead (`config/`, `models/`, `cache/`), which tests and shared machines use.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "musegen"
HOME_ENV = "MUSEGEN_HOME"


def _home_override() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Folder of the user's `musegen.toml`."""
    home = _home_override()
    if home is not None:
        return home / "config"
    from platformdirs import user_config_path

    return user_config_path(APP_NAME)


def data_dir() -> Path:
    home = _home_override()
    if home is not None:
        return home
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def models_dir() -> Path:
    """Folder of the user's named models (each a self-describing model directory)."""
    return data_dir() / "models"


def cache_dir() -> Path:
    home = _home_override()
    if home is not None:
        return home / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME)


def user_config_file() -> Path:
    return config_dir() / "musegen.toml"


def project_config_file() -> Path:
    """`./musegen.toml` in the current folder: per-project settings."""
    return Path.cwd() / "musegen.toml"
