"""The layers capability: pooled activations and steering hooks of the abc-transformer."""

from __future__ import annotations

import pytest
import torch

from musegen_cli.contract import GenerateRequest
from musegen_plugins.abc_transformer.family import FAMILY
from musegen_plugins.abc_transformer.inference import load


@pytest.fixture(scope="module")
def model(cli_model):
    return load(cli_model)


def test_layers_name_both_levels_shallow_to_deep(model):
    c = model.model.config
    names = FAMILY.layers.names(model)
    assert names == [f"patch.{i}" for i in range(c.patch_layers)] + [f"char.{i}" for i in range(c.char_layers)]


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_capture_pools_one_vector_per_piece_whatever_the_batch(model, essen_tunes, pooling):
    pieces = essen_tunes[:3]
    given = [{"emotion": "Q1"}, {}, {"key": "G"}]
    together = FAMILY.layers.capture(model, pieces, given, pooling)
    c = model.model.config
    assert set(together) == set(FAMILY.layers.names(model))
    for name, values in together.items():
        hidden = c.patch_hidden if name.startswith("patch") else c.char_hidden
        assert values.shape == (3, hidden) and values.dtype == torch.float32 and torch.isfinite(values).all()
    alone = FAMILY.layers.capture(model, pieces[1:2], given[1:2], pooling)
    for name in together:
        torch.testing.assert_close(together[name][1], alone[name][0], rtol=1e-4, atol=1e-5)


def test_mean_and_last_pooling_differ_and_conditions_matter(model, essen_tunes):
    from musegen_plugins.abc_transformer.layers import capture

    mean = capture(model, essen_tunes[:1], pooling="mean", layers=["patch.1"])["patch.1"]
    last = capture(model, essen_tunes[:1], pooling="last", layers=["patch.1"])["patch.1"]
    told = capture(model, essen_tunes[:1], [{"emotion": "Q3"}], layers=["patch.1"])["patch.1"]
    assert not torch.allclose(mean, last) and not torch.allclose(mean, told)
    with pytest.raises(ValueError, match="unknown layer 'patch.99'"):
        capture(model, essen_tunes[:1], layers=["patch.99"])


def test_steering_adds_vectors_per_step_and_leaves_no_hooks_behind(model):
    request = GenerateRequest(conditions={}, count=2, seed=3, max_bars=3)
    plain = model.generate(request)
    seen: list[tuple[str, int]] = []

    def nothing(layer: str, step: int):
        seen.append((layer, step))
        return None

    with FAMILY.layers.steer(model, nothing, ["patch.0", "char.0"]):
        assert model.generate(request) == plain
    steps = [step for layer, step in seen if layer == "patch.0"]
    assert steps[0] == 0 and steps[1:] == sorted(steps[1:]) and steps[-1] > 1
    assert {layer for layer, _ in seen} == {"patch.0", "char.0"}

    hidden = model.model.config.patch_hidden
    push = 8 * torch.randn(hidden, generator=torch.Generator().manual_seed(0))  # not constant: LayerNorm removes that
    with FAMILY.layers.steer(model, lambda layer, step: push, ["patch.1"]):
        steered = model.generate(request)
    assert steered != plain
    assert model.generate(request) == plain  # hooks removed
