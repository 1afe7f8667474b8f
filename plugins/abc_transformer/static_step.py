"""Compiled steps for generation: a fixed-shape character step and a patch push.

The eager character step (`AbcTransformer.next_char`) attends to the filled part of the
character cache, so its shapes change at every character and a compiled graph would be
rebuilt for each. `StaticCharSteps` attends to the whole patch-length cache under a mask and
takes its position as a tensor: one graph serves every character of every patch.
`CompiledPatchSteps` pushes patches through the patch decoder with dynamic shapes: one graph
for every context length. Compiled, they leave out most of the per-operation overhead that
makes an eager batch-1 step take about twice as long as its weight products
(`benchmarks/generation_speed.py`).

Used by the sampler when asked (`stream(..., compile_steps=True)`, `musegen generate
--compile`); the first patches pay the compilations (seconds, and a C++ compiler on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from musegen_cli.plugin import UserError

from .model import AbcTransformer, KVCache, visible_keys


class _CompiledStep:
    """A ``torch.compile``'d step whose first call, which builds the graph, reports the
    compiler's own failures (no C++ compiler, an unsupported device) as a one-line error."""

    def __init__(self, step: Callable[..., Tensor], what: str, dynamic: bool | None) -> None:
        # The C++ wrapper calls the kernels without Python between them: at batch 1 about 15%
        # faster per character than inductor's default Python wrapper, which was no faster than eager.
        self.step = torch.compile(step, dynamic=dynamic, options={"cpp_wrapper": True})
        self.what = what
        self.built = False

    def __call__(self, *args: object) -> Tensor:
        if self.built:
            return self.step(*args)
        try:
            result = self.step(*args)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"--compile: torch.compile could not build the {self.what} ({reason}); "
                            "generate without --compile") from None
        self.built = True
        return result


class _StepCache:
    """What `Attention.forward` stores a compiled step's keys in, so the steps run the model's
    own blocks: each row's keys go to position ``at`` (per row, or one for all rows) of
    per-layer buffers, and the step attends to the first ``filled`` positions under its mask.
    Duck-types `KVCache` (``store`` and ``attend``)."""

    def __init__(self, k: list[Tensor], v: list[Tensor], rows: Tensor, at: Tensor, filled: int) -> None:
        self.k, self.v, self.rows, self.at, self.filled = k, v, rows, at, filled

    def store(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        self.k[layer][self.rows, :, self.at] = k[:, :, 0]
        self.v[layer][self.rows, :, self.at] = v[:, :, 0]
        return self.k[layer][:, :, : self.filled], self.v[layer][:, :, : self.filled]

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor, causal: bool) -> Tensor:
        """One query per row, as plain tensor operations that inductor fuses into its own
        kernels. The fused attention kernel costs more in per-call setup (transposed copies
        of q, k and v) than a one-query attention does: about 5% of a batch-1 character step."""
        scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        return scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v


class StaticCharSteps:
    """Spelling patches with a fixed-shape step; the same interface as the eager cache path."""

    def __init__(self, model: AbcTransformer, batch: int, compile_step: bool = True) -> None:
        c, weight = model.config, model.char_embed.weight
        shape = (batch, c.char_heads, c.patch_size, c.char_hidden // c.char_heads)
        self.model = model
        # One buffer per layer, as in `KVCache`: the compiled step then writes in place.
        self.k = [torch.zeros(shape, dtype=weight.dtype, device=weight.device) for _ in range(c.char_layers)]
        self.v = [torch.zeros_like(k) for k in self.k]
        self.slots = torch.arange(c.patch_size, device=weight.device)
        self.positions = [self.slots[i : i + 1].clone() for i in range(c.patch_size)]
        self.position = 0
        self.step = _CompiledStep(self._step, "character step", dynamic=None) if compile_step else self._step

    def first_char(self, states: Tensor) -> Tensor:
        """Logits [B, V] of a patch's first character, from the patch states [B, H]."""
        self.position = 0
        return self._next(states, embed=False)

    def next_char(self, tokens: Tensor) -> Tensor:
        """Logits [B, V] of the next character, after the characters [B] just written."""
        return self._next(tokens, embed=True)

    def keep(self, rows: Tensor) -> None:
        self.k, self.v = [k[rows] for k in self.k], [v[rows] for v in self.v]

    def _next(self, inputs: Tensor, embed: bool) -> Tensor:
        position = self.positions[self.position]
        self.position += 1
        return self.step(inputs, embed, position, self.k, self.v)

    def _step(self, inputs: Tensor, embed: bool, position: Tensor, k_cache: list[Tensor],
              v_cache: list[Tensor]) -> Tensor:
        """One character for every row at ``position`` (a [1] tensor: one graph for all
        positions but the first), from the characters [B] just written (``embed``) or the
        patch states [B, H]; writes the cache in place; logits [B, V]. The embedding is inside
        the graph: at batch 1 one eager operation more per character costs about 1%."""
        x = self.model.char_embed(inputs) if embed else self.model.state_to_char(inputs)
        decoder, rows = self.model.char_decoder, torch.arange(x.shape[0], device=x.device)
        x = (x + decoder.positions.weight.index_select(0, position))[:, None]
        visible = (self.slots <= position)[None, None, None, :]
        cache = _StepCache(k_cache, v_cache, rows, position, len(self.slots))
        for layer, block in enumerate(decoder.blocks):
            x = block(x, cache, layer, visible)
        logits = self.model.head(decoder.norm(x))[:, 0]
        return logits.masked_fill(~self.model.grammar.index_select(0, position), float("-inf"))


class CompiledPatchSteps:
    """Pushing patches with a compiled step over the patch-level KV cache.

    The eager push spends about as long in per-operation overhead as in its weight products
    at batch 1 (six layers of small operations around 75 MB of matrices, for the 30M shape).
    Compiled with dynamic shapes, one graph serves every context length and batch size: it
    writes each row's keys at that row's own length and attends to the filled part under a
    mask, so ragged rows and rewinds need nothing special.
    """

    def __init__(self, model: AbcTransformer, compile_step: bool = True) -> None:
        self.model = model
        self.step = _CompiledStep(self._step, "patch step", dynamic=True) if compile_step else self._step

    def push(self, patch: Tensor, cache: KVCache) -> Tensor:
        """Append one patch [B, S] per row; the state [B, H] that predicts the next patch."""
        cache.check_room(1)
        states = self.step(patch, cache.lengths, cache.k, cache.v, cache.longest + 1)
        cache.advance(1)
        return states

    def _step(self, patch: Tensor, lengths: Tensor, k_cache: list[Tensor], v_cache: list[Tensor],
              filled: int) -> Tensor:
        decoder, rows = self.model.patch_decoder, torch.arange(patch.shape[0], device=patch.device)
        x = self.model.embed_patches(patch[:, None]) + decoder.positions(lengths)[:, None]
        visible = visible_keys(lengths, filled)
        cache = _StepCache(k_cache, v_cache, rows, lengths, filled)
        for layer, block in enumerate(decoder.blocks):
            x = block(x, cache, layer, visible)
        return decoder.norm(x)[:, 0]
