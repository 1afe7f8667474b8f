"""Shared fixtures: every test gets its own MUSEGEN_HOME and a fresh plugin registry."""

from __future__ import annotations

import pytest

from musegen_cli import registry


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep tests away from the real user folders and from each other's plugins."""
    home = tmp_path_factory.mktemp("musegen-home")
    monkeypatch.setenv("MUSEGEN_HOME", str(home))
    for name in ("MUSEGEN_PLUGINS", "MUSEGEN_DEBUG", "MUSEGEN_DEVICE", "MUSEGEN_THREADS", "MUSEGEN_MODEL"):
        monkeypatch.delenv(name, raising=False)
    registry.reset_registry()
    yield home
    registry.reset_registry()
