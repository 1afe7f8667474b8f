"""Fixtures for the dpo tests: a debug model and a debug scorer on disk."""

from pathlib import Path

import pytest

from tests.alignment import canned


@pytest.fixture(scope="session")
def scorer_dir(tmp_path_factory) -> Path:
    from musegen_cli.scoring.scorer import build_scorer, save_scorer

    folder = tmp_path_factory.mktemp("scorer") / "debug"
    save_scorer(build_scorer("debug"), folder, provenance={}, metrics={})
    return folder


@pytest.fixture(scope="session")
def abc_model_dir(tmp_path_factory) -> Path:
    """A random-weight debug abc-transformer model directory."""
    return canned.make_model(tmp_path_factory.mktemp("abc") / "m", family="abc-transformer")


@pytest.fixture()
def canned_model_dir(tmp_path) -> Path:
    return canned.make_model(tmp_path / "start")
