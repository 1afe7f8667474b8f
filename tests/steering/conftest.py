"""Shared fixtures for the steering tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mode_folders(tmp_path_factory, essen_tunes) -> dict[str, Path]:
    """Ten Essen tunes and their parallel-minor versions, one folder per mode."""
    from musegen_cli.data.abc_clean import clean_abc_tune
    from musegen_cli.data.augment import to_parallel_minor

    root = tmp_path_factory.mktemp("modes")
    folders = {"major": root / "major", "minor": root / "minor"}
    for folder in folders.values():
        folder.mkdir()
    kept = 0
    for number, tune in enumerate(essen_tunes):
        clean = clean_abc_tune(tune)
        minor = to_parallel_minor(clean) if clean else None
        if minor:
            (folders["major"] / f"t{number}.abc").write_text(clean)
            (folders["minor"] / f"t{number}.abc").write_text(minor)
            kept += 1
    assert kept >= 8
    return folders
