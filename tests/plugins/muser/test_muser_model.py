"""The networks: straight-through quantization, codebook restarts, element regularization,
teacher forcing, the prior and sampling."""

from __future__ import annotations

import torch

from musegen_plugins.muser import tokens
from musegen_plugins.muser.model import (
    PRESETS,
    MuserVAE,
    Prior,
    VectorQuantizer,
    element_regularization,
    sample_logits,
    teacher_forcing,
)


def test_quantizer_picks_nearest_codes_and_passes_gradients_straight_through():
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 3)
    z = torch.randn(5, 4, 3, requires_grad=True)
    quantized, indices, loss = vq(z)
    nearest = torch.cdist(z.detach().reshape(-1, 3), vq.codebook.detach()).argmin(-1).view(5, 4)
    assert torch.equal(indices, nearest)
    assert torch.allclose(quantized, vq.codebook[indices], atol=1e-6)
    (quantized * torch.arange(3.0)).sum().backward()
    assert torch.allclose(z.grad, torch.arange(3.0).expand(5, 4, 3))  # identity gradient
    loss.backward()
    assert vq.codebook.grad is not None and vq.codebook.grad.abs().sum() > 0


def test_dead_codes_restart_onto_the_data_and_get_used():
    torch.manual_seed(0)
    vq = VectorQuantizer(16, 2)
    data = torch.randn(256, 2) * 5 + 10  # far from the tiny initial codebook
    _, before, _ = vq(data)
    used = before.unique().numel()
    assert used <= 4  # the few codes nearest the data take everything
    assert vq.restart_dead(data) == 16 - used
    _, after, _ = vq(data)
    assert after.unique().numel() >= 12


def test_regularization_orders_each_sub_space_by_its_attribute():
    torch.manual_seed(0)
    attributes = torch.randn(12, 4)
    axis = torch.randn(12, 4, requires_grad=True)
    optimizer = torch.optim.Adam([axis], lr=0.05)
    start = float(element_regularization(axis.detach(), attributes))
    for _ in range(300):
        loss = element_regularization(axis, attributes)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < start / 3
    for element in range(4):  # same ranking of pieces on each axis as on its attribute
        assert torch.equal(axis[:, element].argsort(), attributes[:, element].argsort())
    reversed_order = element_regularization(-attributes * 100, attributes)
    assert float(element_regularization(attributes * 100, attributes)) < 0.1 < float(reversed_order)


def test_teacher_forcing_adds_bos_and_puts_eos_after_each_piece():
    ids = torch.full((2, 4, 7), 5)
    ids[1, 2:] = tokens.PAD
    inputs, targets = teacher_forcing(ids)
    assert inputs.shape == targets.shape == (2, 5, 7)
    assert (inputs[:, 0] == tokens.BOS).all()
    assert (targets[0, 4] == tokens.EOS).all() and (targets[1, 2] == tokens.EOS).all()
    assert (targets[1, 3:] == tokens.PAD).all()


def test_vae_losses_and_latent_split_shapes():
    torch.manual_seed(0)
    config = PRESETS["debug"]
    vae = MuserVAE(config)
    ids = torch.full((3, 10, 7), tokens.IGNORE)
    ids[..., 0] = tokens.NOTE
    ids[2, 6:] = tokens.PAD
    out = vae(ids, torch.randn(3, len(tokens.ELEMENTS)))
    assert out["z"].shape == (3, config.latent_len, len(tokens.ELEMENTS), config.sub_dim)
    assert out["codes"].shape == (3, config.latent_len, len(tokens.ELEMENTS))
    assert all(torch.isfinite(out[k]) for k in ("recon", "vq", "reg"))
    (out["recon"] + out["vq"] + out["reg"]).backward()
    assert vae.to_latent.weight.grad.abs().sum() > 0


def test_prior_loss_and_sampling_respect_codebook_size():
    torch.manual_seed(0)
    config = PRESETS["debug"]
    prior = Prior(config)
    codes = torch.randint(0, config.codes, (2, config.latent_len, len(tokens.ELEMENTS)))
    loss = prior(torch.tensor([0, 4]), codes)
    assert torch.isfinite(loss) and float(loss.detach()) > 0
    logits = prior.logits(torch.tensor([1]), codes.flatten(1)[:1, :5])
    assert logits.shape == (1, 6, config.codes)


def test_sampling_honours_masks_top_k_and_greedy():
    logits = torch.tensor([[0.0, 1.0, 5.0, float("-inf")]]).repeat(200, 1)
    generator = torch.Generator().manual_seed(0)
    assert (sample_logits(logits, 0.0, 0, 1.0, generator) == 2).all()
    assert set(sample_logits(logits, 1.0, 2, 1.0, generator).tolist()) <= {1, 2}
    assert 3 not in sample_logits(logits, 5.0, 0, 1.0, generator).tolist()
    assert (sample_logits(logits, 1.0, 0, 0.5, generator) == 2).all()
