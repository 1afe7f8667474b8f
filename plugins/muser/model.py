"""The MusER networks: an element-split VQ-VAE over compound words, and a prior over its codes.

``MuserVAE`` encodes events with a transformer, pools every ``stride`` events into one latent
position, and splits each latent vector into one sub-space per element (``tokens.ELEMENTS``),
quantized by that element's own codebook. The decoder is an autoregressive transformer that
reads the quantized latents by cross-attention and predicts every field of the next event
(the event type first; the other fields see the type, as in the compound-word transformer).

``element_regularization`` is MusER's element-based regularization (the attribute
regularization of Pati & Lerch's AR-VAE, one element per sub-space): for every pair of pieces
in a batch, the difference of a sub-space's first coordinate should have the sign of the
difference of its element's attribute, via ``|tanh(delta * dz) - sign(da)|``. The other
coordinates stay free, and the element's order lives on one axis per sub-space.

``Prior`` is a small causal transformer over the flattened code indices (time-major, one code
per element per latent position) that starts from an emotion token (Q1-Q4 or none).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import tokens

#: Prior condition tokens: the four quadrants, then "no emotion" (dropout in training).
EMOTIONS = ("Q1", "Q2", "Q3", "Q4")
NO_EMOTION = len(EMOTIONS)


@dataclass(frozen=True)
class ModelConfig:
    width: int = 64  # transformer width of encoder, decoder and prior
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    prior_layers: int = 2
    max_events: int = 64  # events a window holds, BOS/EOS included
    stride: int = 8  # events pooled into one latent position
    sub_dim: int = 8  # latent width of each element's sub-space
    codes: int = 64  # codebook entries per element
    dropout: float = 0.1

    @property
    def latent_len(self) -> int:
        return -(-self.max_events // self.stride)


PRESETS = {
    "debug": ModelConfig(width=32, heads=2, encoder_layers=1, decoder_layers=1, prior_layers=1,
                         max_events=40, stride=8, sub_dim=4, codes=16, dropout=0.0),
    "small": ModelConfig(width=192, heads=4, encoder_layers=3, decoder_layers=3, prior_layers=4,
                         max_events=256, stride=16, sub_dim=16, codes=128, dropout=0.1),
}


def _layer_kwargs(config: ModelConfig) -> dict:
    return {"d_model": config.width, "nhead": config.heads, "dim_feedforward": 4 * config.width,
            "dropout": config.dropout, "batch_first": True, "norm_first": True}


def _causal(length: int, device: torch.device) -> torch.Tensor:
    return torch.ones((length, length), dtype=torch.bool, device=device).triu(diagonal=1)


class VectorQuantizer(nn.Module):
    """Nearest-codebook quantization with a straight-through gradient (VQ-VAE), and the
    codebook + commitment loss. ``usage`` counts recent picks, for dead-code restarts."""

    def __init__(self, codes: int, dim: int) -> None:
        super().__init__()
        self.codebook = nn.Parameter(torch.empty(codes, dim).uniform_(-1 / codes, 1 / codes))
        self.register_buffer("usage", torch.zeros(codes))

    def forward(self, z: torch.Tensor, beta: float = 0.25) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        flat = z.reshape(-1, z.shape[-1])
        indices = torch.cdist(flat, self.codebook).argmin(dim=-1)
        quantized = self.codebook[indices].view_as(z)
        loss = F.mse_loss(quantized, z.detach()) + beta * F.mse_loss(z, quantized.detach())
        if self.training:
            counts = torch.bincount(indices, minlength=self.codebook.shape[0]).to(self.usage)
            self.usage.mul_(0.9).add_(counts)
        return z + (quantized - z).detach(), indices.view(z.shape[:-1]), loss

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        return self.codebook[indices]

    @torch.no_grad()
    def restart_dead(self, z: torch.Tensor, threshold: float = 0.01) -> int:
        """Move codes nobody picked lately onto random encodings of the batch; returns how many."""
        dead = (self.usage < threshold).nonzero().flatten()
        if dead.numel() == 0:
            return 0
        flat = z.reshape(-1, z.shape[-1])
        picks = torch.randint(0, flat.shape[0], (dead.numel(),), device=flat.device)
        self.codebook[dead] = flat[picks] + 0.01 * torch.randn_like(flat[picks])
        self.usage[dead] = 1.0
        return int(dead.numel())


class EventEmbedding(nn.Module):
    """Sum of one embedding per compound-word field, plus a learned position."""

    def __init__(self, config: ModelConfig, sizes: list[int]) -> None:
        super().__init__()
        self.fields = nn.ModuleList(nn.Embedding(size, config.width) for size in sizes)
        self.position = nn.Embedding(config.max_events, config.width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = sum(embed(ids[..., i]) for i, embed in enumerate(self.fields))
        return x + self.position(torch.arange(ids.shape[1], device=ids.device))


class MuserVAE(nn.Module):
    def __init__(self, config: ModelConfig, sizes: list[int] | None = None) -> None:
        super().__init__()
        self.config = config
        self.sizes = sizes or tokens.vocab_sizes()
        n = len(tokens.ELEMENTS)
        self.encoder_embed = EventEmbedding(config, self.sizes)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**_layer_kwargs(config)),
                                             config.encoder_layers, enable_nested_tensor=False)
        self.to_latent = nn.Linear(config.width, n * config.sub_dim)
        self.quantizers = nn.ModuleList(VectorQuantizer(config.codes, config.sub_dim) for _ in range(n))
        self.from_latent = nn.Linear(n * config.sub_dim, config.width)
        self.latent_position = nn.Embedding(config.latent_len, config.width)
        self.decoder_embed = EventEmbedding(config, self.sizes)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**_layer_kwargs(config)),
                                             config.decoder_layers)
        self.norm = nn.LayerNorm(config.width)
        self.type_embed = nn.Embedding(self.sizes[0], config.width)
        self.heads = nn.ModuleList(nn.Linear(config.width, size) for size in self.sizes)

    # ----- encoding ---------------------------------------------------------------------

    def encode(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Continuous latents [B, T, elements, sub_dim] of event windows [B, L, fields] (PAD
        rows ignored), and which latent positions hold any event [B, T]."""
        config = self.config
        mask = ids[..., 0] != tokens.PAD
        hidden = self.encoder(self.encoder_embed(ids), src_key_padding_mask=~mask)
        length = config.latent_len * config.stride
        hidden = F.pad(hidden, (0, 0, 0, length - hidden.shape[1]))
        weights = F.pad(mask, (0, length - mask.shape[1])).float()
        hidden = (hidden * weights[..., None]).view(ids.shape[0], config.latent_len, config.stride, -1)
        counts = weights.view(ids.shape[0], config.latent_len, config.stride).sum(-1)
        pooled = hidden.sum(2) / counts.clamp(min=1)[..., None]
        z = self.to_latent(pooled).view(ids.shape[0], config.latent_len, len(tokens.ELEMENTS), config.sub_dim)
        return z, counts > 0

    def quantize(self, z: torch.Tensor, beta: float = 0.25) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantized latents (straight-through), code indices [B, T, elements], VQ loss."""
        parts, codes, loss = [], [], z.new_zeros(())
        for e, quantizer in enumerate(self.quantizers):
            q, idx, l = quantizer(z[:, :, e], beta)
            parts.append(q)
            codes.append(idx)
            loss = loss + l
        return torch.stack(parts, dim=2), torch.stack(codes, dim=-1), loss / len(self.quantizers)

    def latents_of(self, codes: torch.Tensor) -> torch.Tensor:
        """Quantized latents [B, T, elements, sub_dim] of code indices [B, T, elements]."""
        return torch.stack([q.lookup(codes[..., e]) for e, q in enumerate(self.quantizers)], dim=2)

    # ----- decoding ---------------------------------------------------------------------

    def memory(self, latents: torch.Tensor) -> torch.Tensor:
        flat = latents.flatten(2)
        return self.from_latent(flat) + self.latent_position(torch.arange(flat.shape[1], device=flat.device))

    def hidden(self, memory: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        length = inputs.shape[1]
        pad = inputs[..., 0] == tokens.PAD
        out = self.decoder(self.decoder_embed(inputs), memory, tgt_mask=_causal(length, inputs.device),
                           tgt_key_padding_mask=pad, tgt_is_causal=True)
        return self.norm(out)

    def field_logits(self, hidden: torch.Tensor, types: torch.Tensor) -> list[torch.Tensor]:
        """Logits of every field; all but the type's see the event's type."""
        typed = hidden + self.type_embed(types)
        return [self.heads[0](hidden)] + [head(typed) for head in self.heads[1:]]

    def forward(self, ids: torch.Tensor, attributes: torch.Tensor, beta: float = 0.25,
                delta: float = 1.0) -> dict[str, torch.Tensor]:
        """Losses of a batch: ``ids`` [B, L, fields] are the windows (no BOS/EOS, PAD after),
        ``attributes`` [B, elements] each window's element attributes."""
        z, filled = self.encode(ids)
        latents, codes, vq = self.quantize(z, beta)
        inputs, targets = teacher_forcing(ids)
        logits = self.field_logits(self.hidden(self.memory(latents), inputs), targets[..., 0])
        recon = sum(F.cross_entropy(l.flatten(0, 1), targets[..., i].flatten(), ignore_index=tokens.PAD)
                    for i, l in enumerate(logits)) / len(logits)
        reg = element_regularization(pooled_first_axis(z, filled), attributes, delta)
        return {"recon": recon, "vq": vq, "reg": reg, "codes": codes, "z": z, "logits": logits, "targets": targets}


def teacher_forcing(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder inputs (BOS row, then the events) and targets (the events, then an EOS row)."""
    batch, _, fields = ids.shape
    bos = torch.full((batch, 1, fields), tokens.BOS, dtype=ids.dtype, device=ids.device)
    pad = torch.zeros((batch, 1, fields), dtype=ids.dtype, device=ids.device)
    inputs = torch.cat([bos, ids], dim=1)
    targets = torch.cat([ids, pad], dim=1)
    lengths = (ids[..., 0] != tokens.PAD).sum(1)
    targets[torch.arange(batch, device=ids.device), lengths] = tokens.EOS
    return inputs, targets


def pooled_first_axis(z: torch.Tensor, filled: torch.Tensor) -> torch.Tensor:
    """Each piece's mean over filled latent positions of every sub-space's first axis [B, elements]."""
    weights = filled.float()[..., None]
    return (z[..., 0] * weights).sum(1) / weights.sum(1).clamp(min=1)


def element_regularization(axis: torch.Tensor, attributes: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Mean over elements and pairs of pieces of ``|tanh(delta * (z_i - z_j)) - sign(a_i - a_j)|``:
    zero when every sub-space's axis orders the pieces as their element attribute does."""
    dz = axis[:, None, :] - axis[None, :, :]
    da = attributes[:, None, :] - attributes[None, :, :]
    return (torch.tanh(delta * dz) - torch.sign(da)).abs().mean()


class Prior(nn.Module):
    """Causal transformer over code indices, flattened time-major (t0e0, t0e1, ..., t1e0, ...),
    after one emotion token. Input embeddings tell elements apart; the head predicts an index
    into the codebook of the element due at each position."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        n = len(tokens.ELEMENTS)
        self.length = config.latent_len * n
        self.code_embed = nn.Embedding(n * config.codes, config.width)
        self.emotion_embed = nn.Embedding(len(EMOTIONS) + 1, config.width)
        self.position = nn.Embedding(self.length, config.width)
        self.blocks = nn.TransformerEncoder(nn.TransformerEncoderLayer(**_layer_kwargs(config)),
                                            config.prior_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.codes)

    def logits(self, emotion: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Next-code logits [B, len+1, codes] after the emotion token and ``codes`` [B, len]."""
        n = len(tokens.ELEMENTS)
        offsets = (torch.arange(codes.shape[1], device=codes.device) % n) * self.config.codes
        x = torch.cat([self.emotion_embed(emotion)[:, None], self.code_embed(codes + offsets)], dim=1)
        x = x + self.position(torch.arange(x.shape[1], device=x.device).clamp(max=self.length - 1))
        x = self.blocks(x, mask=_causal(x.shape[1], x.device), is_causal=True)
        return self.head(self.norm(x))

    def forward(self, emotion: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of codes [B, T, elements] after their emotion token [B]."""
        flat = codes.flatten(1)
        logits = self.logits(emotion, flat[:, :-1])
        return F.cross_entropy(logits.flatten(0, 1), flat.flatten())


def sample_logits(logits: torch.Tensor, temperature: float, top_k: int, top_p: float,
                  generator: torch.Generator | None) -> torch.Tensor:
    """One id per row of ``logits`` [N, V] (-inf marks forbidden ids); temperature 0 is greedy."""
    if temperature <= 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0 < top_p < 1:
        ordered, order = logits.sort(dim=-1, descending=True)
        cumulative = ordered.softmax(-1).cumsum(-1)
        drop = cumulative - ordered.softmax(-1) > top_p
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
