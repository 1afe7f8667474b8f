"""A character step with every shape fixed, so that ``torch.compile`` builds it once.

The eager step (`AbcTransformer.next_char`) attends to the filled part of the character
cache, so its shapes change at every character and a compiled graph would be rebuilt for
each. This step attends to the whole patch-length cache under a mask and takes its position
as a tensor: one graph serves every character of every patch. Compiled, it leaves out most
of the per-operation overhead that makes an eager batch-1 step take about twice as long as
its weight products (`benchmarks/generation_speed.py`).

Used by the sampler when asked (`stream(..., compile_steps=True)`, `musegen generate
--compile`); the first patch pays the compilation (seconds, and a C++ compiler on the CPU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from musegen_cli.errors import UserError

from .model import AbcTransformer


class StaticCharSteps:
    """Spelling patches with a fixed-shape step; the same interface as the eager cache path."""

    def __init__(self, model: AbcTransformer, batch: int, compile_step: bool = True) -> None:
        c, weight = model.config, model.char_embed.weight
        shape = (c.char_layers, batch, c.char_heads, c.patch_size, c.char_hidden // c.char_heads)
        self.model = model
        self.k = torch.zeros(shape, dtype=weight.dtype, device=weight.device)
        self.v = torch.zeros_like(self.k)
        self.slots = torch.arange(c.patch_size, device=weight.device)
        self.positions = [self.slots[i : i + 1].clone() for i in range(c.patch_size)]
        self.position = 0
        self.compiled = not compile_step  # True once the first call has built the graph
        # The C++ wrapper calls the kernels without Python between them: at batch 1 about 15%
        # faster per character than inductor's default Python wrapper, which was no faster than eager.
        self.step = (torch.compile(self._step, dynamic=None, options={"cpp_wrapper": True}) if compile_step
                     else self._step)

    def first_char(self, states: Tensor) -> Tensor:
        """Logits [B, V] of a patch's first character, from the patch states [B, H]."""
        self.position = 0
        return self._next(states, embed=False)

    def next_char(self, tokens: Tensor) -> Tensor:
        """Logits [B, V] of the next character, after the characters [B] just written."""
        return self._next(tokens, embed=True)

    def keep(self, rows: Tensor) -> None:
        self.k, self.v = self.k[:, rows], self.v[:, rows]

    def _next(self, inputs: Tensor, embed: bool) -> Tensor:
        position = self.positions[self.position]
        self.position += 1
        if self.compiled:
            return self.step(inputs, embed, position, self.k, self.v)
        try:
            logits = self.step(inputs, embed, position, self.k, self.v)
        except Exception as exc:  # the compiler's own errors: no C++ compiler, an unsupported device
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"--compile: torch.compile could not build the character step ({reason}); "
                            "generate without --compile") from None
        self.compiled = True
        return logits

    def _step(self, inputs: Tensor, embed: bool, position: Tensor, k_cache: Tensor, v_cache: Tensor) -> Tensor:
        """One character for every row at ``position`` (a [1] tensor: one graph for all
        positions but the first), from the characters [B] just written (``embed``) or the
        patch states [B, H]; writes the cache in place; logits [B, V]. The embedding is inside
        the graph: at batch 1 one eager operation more per character costs about 1%."""
        x = self.model.char_embed(inputs) if embed else self.model.state_to_char(inputs)
        decoder, batch, dim = self.model.char_decoder, x.shape[0], x.shape[-1]
        x = (x + decoder.positions.weight.index_select(0, position))[:, None]
        visible = (self.slots <= position)[None, None, None, :]
        for layer, block in enumerate(decoder.blocks):
            attn = block.attn
            q, k, v = attn.qkv(block.norm1(x)).view(batch, 1, 3, attn.heads, -1).permute(2, 0, 3, 1, 4)
            k_cache[layer].index_copy_(2, position, k)
            v_cache[layer].index_copy_(2, position, v)
            y = F.scaled_dot_product_attention(q, k_cache[layer], v_cache[layer], attn_mask=visible)
            x = x + attn.proj(y.transpose(1, 2).reshape(batch, 1, dim))
            x = x + block.mlp(block.norm2(x))
        logits = self.model.head(decoder.norm(x))[:, 0]
        return logits.masked_fill(~self.model.grammar.index_select(0, position), float("-inf"))
