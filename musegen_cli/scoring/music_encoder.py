"""The scorer's music encoder: a bidirectional transformer over bar patches of ABC (CLaMP 2's M3).

A piece is cut into patches of ``patch_size`` characters by `musegen_cli.notation.abc_patches`
(one bar or header line per patch, longer ones continued), each patch embedded as a linear
map of its one-hot characters (a bag sum over (position, character) embeddings), plus a
learned position. A bidirectional transformer reads all patches; the embedding of the piece
is the mean of the output states over its real patches, projected and L2-normalised.

Pre-training masks a fraction of patches (their input becomes a learned mask vector) and a
tiny causal character decoder, started from a masked patch's output state, spells that
patch's characters: the encoder must infer a bar from its context, as M3 does.

Shapes: B batch, P patches, S = patch_size characters, H hidden size, D embedding size.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from musegen_cli.plugin import PAD, VOCAB_SIZE, crop_patches


@dataclass(frozen=True)
class MusicEncoderConfig:
    """Shape of a music encoder; plain values only, so ``asdict`` gives its JSON form."""

    patch_size: int = 16
    max_patches: int = 128
    hidden: int = 256
    layers: int = 4
    heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.1
    char_hidden: int = 128
    char_layers: int = 1
    char_heads: int = 2
    dim: int = 128  # the shared embedding size (music and text)


# ----- blocks shared with the text encoder ------------------------------------------------------


class Block(nn.Module):
    """Pre-LayerNorm transformer block; bidirectional under a key mask, or causal."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim, bias=False), nn.GELU(approximate="tanh"),
                                 nn.Linear(mlp_ratio * dim, dim, bias=False))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, key_mask: Tensor | None = None, causal: bool = False) -> Tensor:
        """x [B, T, H]; key_mask [B, T] bool (True: a real position others may attend to)."""
        batch, steps, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(batch, steps, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        mask = key_mask[:, None, None, :] if key_mask is not None else None
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(batch, steps, dim)))
        return x + self.drop(self.mlp(self.norm2(x)))


class Encoder(nn.Module):
    """Learned positions, a stack of blocks and a final LayerNorm."""

    def __init__(self, dim: int, layers: int, heads: int, mlp_ratio: int, dropout: float, max_len: int) -> None:
        super().__init__()
        self.positions = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, key_mask: Tensor | None = None, causal: bool = False) -> Tensor:
        x = self.drop(x + self.positions(torch.arange(x.shape[1], device=x.device)))
        for block in self.blocks:
            x = block(x, key_mask, causal)
        return self.norm(x)


def init_weights(model: nn.Module, layers: int) -> None:
    """GPT-2 initialisation: small normal weights, residual outputs shrunk by depth."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
    for name, p in model.named_parameters():
        if name.endswith(("proj.weight", "mlp.2.weight")) and ".blocks." in f".{name}":
            nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers))


def masked_mean(states: Tensor, mask: Tensor) -> Tensor:
    """Mean of [B, T, H] over the positions where mask [B, T] is True."""
    weights = mask.to(states.dtype)[..., None]
    return (states * weights).sum(1) / weights.sum(1).clamp_min(1.0)


# ----- pieces to patches ----------------------------------------------------------------------


def piece_patches(text: str, patch_size: int, max_patches: int, rng: random.Random | None = None) -> list[list[int]]:
    """Patches of a piece, cropped to ``max_patches`` (`notation.patch_batches.crop_patches`)."""
    return crop_patches(text, patch_size, max_patches, rng)[0]


# ----- the model ----------------------------------------------------------------------------


class MusicEncoder(nn.Module):
    def __init__(self, config: MusicEncoderConfig) -> None:
        super().__init__()
        c = self.config = config
        self.patch_embed = nn.Embedding(c.patch_size * VOCAB_SIZE, c.hidden)
        self.mask_embed = nn.Parameter(torch.zeros(c.hidden))
        self.encoder = Encoder(c.hidden, c.layers, c.heads, c.mlp_ratio, c.dropout, c.max_patches)
        self.project = nn.Linear(c.hidden, c.dim, bias=False)
        # Pre-training head: a character decoder that spells masked patches.
        self.state_to_char = nn.Linear(c.hidden, c.char_hidden, bias=False)
        self.char_embed = nn.Embedding(VOCAB_SIZE, c.char_hidden)
        self.char_decoder = Encoder(c.char_hidden, c.char_layers, c.char_heads, c.mlp_ratio, c.dropout, c.patch_size)
        self.char_head = nn.Linear(c.char_hidden, VOCAB_SIZE, bias=False)
        init_weights(self, c.layers)
        nn.init.normal_(self.mask_embed, std=0.02)

    def embed_patches(self, patches: Tensor) -> Tensor:
        """[B, P, S] ids -> [B, P, H]: a linear map of each one-hot patch, done as a bag sum."""
        batch, count, size = patches.shape
        offsets = torch.arange(size, device=patches.device) * VOCAB_SIZE
        flat = (patches + offsets).reshape(-1, size)
        return F.embedding_bag(flat, self.patch_embed.weight, mode="sum").view(batch, count, -1)

    def states(self, patches: Tensor, mask: Tensor, masked: Tensor | None = None) -> Tensor:
        """Output state per patch [B, P, H]; patches where ``masked`` [B, P] is True are hidden."""
        x = self.embed_patches(patches)
        if masked is not None:
            x = torch.where(masked[..., None], self.mask_embed.to(x.dtype), x)
        return self.encoder(x, mask)

    def forward(self, patches: Tensor, mask: Tensor) -> Tensor:
        """L2-normalised piece embeddings [B, D] (mean over real patches, then projected)."""
        pooled = masked_mean(self.states(patches, mask), mask)
        return F.normalize(self.project(pooled), dim=-1)

    def masked_patch_loss(self, patches: Tensor, mask: Tensor, ratio: float, generator: torch.Generator) -> Tensor:
        """Cross-entropy per character of spelling masked patches from their context.

        Each real patch is masked with probability ``ratio`` (at least one per batch); the
        character decoder sees the masked patch's state, then its characters so far.
        """
        chosen = (torch.rand(mask.shape, generator=generator, device="cpu") < ratio).to(mask.device) & mask
        if not chosen.any():
            chosen = mask & (torch.cumsum(mask.long(), 1) == 1)  # the first patch of every piece
        states = self.states(patches, mask, chosen)[chosen]
        targets = patches[chosen]
        x = torch.cat((self.state_to_char(states)[:, None], self.char_embed(targets[:, :-1])), dim=1)
        logits = self.char_head(self.char_decoder(x, causal=True))
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=PAD)
