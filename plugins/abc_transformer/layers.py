"""The layers capability: read the abc-transformer's residual stream, and add to it while it writes.

Layers are the transformer blocks of both levels, named ``patch.0`` ... ``patch.{n-1}`` (the
bar-level decoder: one position per patch) and ``char.0`` ... (the decoder that spells each
patch). A layer's activation is its block's output, the residual stream after that block.

``capture`` runs pieces (with their condition lines, teacher-forced) and pools each layer's
activations per piece: the mean over the piece's positions, or the last position. ``steer``
adds vectors to block outputs during generation; what to add is asked of a callback for
each layer at each step, so schedules, layer weights and injection probabilities live in
the caller (musegen's steering core), not here. The step is the patch position being
written (the prompt's patches are step 0 .. P-1 at once), the same for both levels.
Patches written while the model is in the header are not steered (`header_gate`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from musegen_cli.plugin import PAD, capture_conditions, choose_layers

from .header_gate import HeaderGate
from .inference import AbcModel, encoded_pieces
from .text_formats import format_for

#: ``add(layer name, step) -> vector [hidden] or None`` (None adds nothing).
Steering = Callable[[str, int], Tensor | None]


def layer_names(model: AbcModel) -> list[str]:
    """Every hookable layer, patch level first, shallow to deep."""
    c = model.model.config
    return [f"patch.{i}" for i in range(c.patch_layers)] + [f"char.{i}" for i in range(c.char_layers)]


def _blocks(model: AbcModel) -> dict[str, nn.Module]:
    net = model.model
    blocks = {f"patch.{i}": block for i, block in enumerate(net.patch_decoder.blocks)}
    blocks.update({f"char.{i}": block for i, block in enumerate(net.char_decoder.blocks)})
    return blocks


def _check(model: AbcModel, layers: Sequence[str] | None) -> list[str]:
    return choose_layers(layer_names(model), layers)


def capture(model: AbcModel, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]] | None = None,
            pooling: Literal["mean", "last"] = "mean", layers: Sequence[str] | None = None,
            batch_size: int = 16) -> dict[str, Tensor]:
    """Pooled activations {layer: [N, hidden] float32 on the CPU} of ``pieces``.

    Patch layers pool over the piece's patches; char layers over every character the model
    spells in it (``last``: the last character of the last patch). A piece longer than the
    model's context is cut to its first ``max_patches`` patches.
    """
    given = capture_conditions(pieces, conditions, pooling)
    wanted = _check(model, layers)
    net, size = model.model, model.model.config.patch_size
    rows = encoded_pieces(model, pieces, given, template=False)[0]
    pooled: dict[str, list[Tensor]] = {name: [] for name in wanted}
    blocks = _blocks(model)
    for begin in range(0, len(rows), batch_size):
        chunk = rows[begin : begin + batch_size]
        ids = torch.full((len(chunk), max(map(len, chunk)), size), PAD, dtype=torch.long)
        for i, row in enumerate(chunk):
            ids[i, : len(row)] = torch.tensor(row)
        ids = ids.to(model.device)
        seen: dict[str, Tensor] = {}
        hooks = [blocks[name].register_forward_hook(_recorder(seen, name)) for name in wanted]
        try:
            with torch.inference_mode():
                if any(name.startswith("char.") for name in wanted):
                    net.logits(ids)  # runs both levels
                else:
                    net.patch_states(ids[:, :-1])
        finally:
            for hook in hooks:
                hook.remove()
        for name in wanted:
            pooled[name].append(_pool(seen[name], ids, name, pooling, net.config.spell_offset))
    return {name: torch.cat(parts) for name, parts in pooled.items()}


def _recorder(store: dict[str, Tensor], name: str):
    def hook(_module: nn.Module, _inputs: tuple, output: Tensor) -> None:
        store[name] = output.detach()

    return hook


def _pool(hidden: Tensor, ids: Tensor, name: str, pooling: str, offset: int = 0) -> Tensor:
    """Pool one layer's output for a batch. Patch layers saw patches 0..P-2 ([B, P-1, H]);
    char layers saw, for each of those, the state and the patch's spelled characters
    ([B*(P-1), W, H], W = S - ``offset``: a stored begin id is not spelled)."""
    batch, count, size = ids.shape
    real_patch = ids[:, 1:, 0] != PAD  # the patches the model predicts: [B, P-1]
    if name.startswith("patch."):
        weights = real_patch.float()
    else:
        hidden = hidden.view(batch, count - 1, size - offset, -1).flatten(1, 2)
        chars = torch.cat((torch.ones_like(ids[:, 1:, :1]), ids[:, 1:, offset:-1]), dim=2) != PAD
        weights = (chars & real_patch[..., None]).flatten(1).float()
    if pooling == "last":
        last = weights.shape[1] - 1 - weights.flip(1).argmax(1)
        return hidden[torch.arange(batch, device=hidden.device), last].float().cpu()
    summed = (hidden.float() * weights[..., None]).sum(1)
    return (summed / weights.sum(1, keepdim=True).clamp(min=1)).cpu()


@contextlib.contextmanager
def steer(model: AbcModel, add: Steering, layers: Sequence[str] | None = None) -> Iterator[None]:
    """While active, each generation step adds ``add(layer, step)`` to those layers' outputs."""
    wanted = _check(model, layers)
    blocks = _blocks(model)
    step = [0]
    net = model.model
    gate = HeaderGate(format_for(net.config.text_format).patch_text)  # header lines are not steered
    embed = net.embed_patches

    def read_then_embed(patches: Tensor) -> Tensor:
        gate.read(patches)
        return embed(patches)

    def track(_module: nn.Module, args: tuple) -> None:
        cache = args[1] if len(args) > 1 else None
        step[0] = int(cache.longest) if cache is not None and args[0].shape[1] == 1 else 0

    def adder(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: Tensor) -> Tensor | None:
            vector = add(name, step[0])
            if vector is None:
                return None
            return gate.apply(output, vector.to(device=output.device, dtype=output.dtype), name.split(".")[0])

        return hook

    hooks = [model.model.patch_decoder.register_forward_pre_hook(track)]
    hooks += [blocks[name].register_forward_hook(adder(name)) for name in wanted]
    net.embed_patches = read_then_embed  # an instance attribute: the class method comes back on delete
    try:
        yield
    finally:
        del net.embed_patches
        for hook in hooks:
            hook.remove()
