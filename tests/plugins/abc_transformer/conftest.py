"""Shared fixtures for the abc-transformer tests (the debug model and tunes: tests/conftest.py)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models step fastest on one thread; thread hand-offs dominate on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def tiny_model():
    from musegen_plugins.abc_transformer.model import PRESETS, AbcTransformer

    torch.manual_seed(0)
    return AbcTransformer(PRESETS["debug"]).eval()
