"""Shared fixtures for the abc-transformer tests (the debug model and tunes: tests/conftest.py)."""

import pytest
import torch


@pytest.fixture()
def tiny_model():
    from musegen_plugins.abc_transformer.model import PRESETS, AbcTransformer

    torch.manual_seed(0)
    return AbcTransformer(PRESETS["debug"]).eval()
