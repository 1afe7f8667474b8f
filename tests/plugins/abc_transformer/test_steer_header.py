"""Steering leaves the header alone: a patch that may be a header line is written as
unsteered, and only the music under the header is steered."""

from __future__ import annotations

import torch

from musegen_cli.notation import abc_patches
from musegen_cli.registry import get_registry, reset_registry
from plugins.abc_transformer.header_gate import follows_header
from plugins.abc_transformer.layers import layer_names, steer


def test_which_patches_may_be_followed_by_a_header_line():
    assert all(follows_header(text) for text in ("", "%mode minor\n", "X:1\n", "M:6/8\n", "L:1/8\n", "Q:1/4=90\n"))
    assert not any(follows_header(text) for text in ("K:G\n", "K:Ador\n", "GABc dedB|", "|:d2e f2|"))


def test_a_strong_direction_leaves_the_header_states_alone_and_moves_the_music(cli_model):
    reset_registry()
    family = get_registry().require("steer", "abc-transformer")
    model = family.sampler.load(cli_model, torch.device("cpu"))
    config = model.model.config
    tune = "X:1\nT:Tune\nM:4/4\nL:1/8\nK:G\nGABc dedB|c2B2 A4|\n"
    patches = torch.tensor([abc_patches.encode(tune, config.patch_size)])
    vectors = {name: 40 * torch.randn(config.patch_hidden if name.startswith("patch") else config.char_hidden,
                                      generator=torch.Generator().manual_seed(i))
               for i, name in enumerate(layer_names(model))}
    with torch.no_grad():
        plain = model.model.patch_states(patches)[0]
        with steer(model, lambda layer, step: vectors[layer], layer_names(model)):
            steered = model.model.patch_states(patches)[0]
    header = 6  # begin patch, X:, T:, M:, L:, K: -- the states that write T: ... the first bar
    assert torch.equal(steered[:header - 1], plain[:header - 1])  # they predict header lines
    assert not torch.allclose(steered[header - 1:], plain[header - 1:])  # K: on: the music is steered
    assert "embed_patches" not in vars(model.model)  # the context put the model back
