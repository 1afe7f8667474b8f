"""NotaGen and TunesFormer/EMusicGen checkpoints as abc-transformer weights.

Both sources compose transformers' GPT-2 classes the same way: a patch-level ``GPT2Model``
fed by a linear map (with bias) of one-hot patches, ``patch_level_decoder.{patch_embedding,
base}``, and a character-level ``GPT2LMHeadModel``, ``char_level_decoder.base``, whose
``lm_head`` is tied to its token embedding and whose first input is the patch state. GPT-2
blocks are ours with biases: ``Conv1D`` weights are stored transposed ([in, out]) and the
fused ``c_attn`` holds queries, keys and values in our ``qkv`` order. Every shape is read off
the state dict; heads follow the sources' rule of 64-wide heads (NotaGen's ``hidden // 64``,
TunesFormer's GPT-2 default of 12 heads at 768). The position tables tell the contexts:
NotaGen's character decoder keeps ``patch_size + 1`` positions, TunesFormer's ``patch_size``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import torch
from torch import Tensor

from musegen_cli.plugin import UserError

from .model import AbcTransformer, ModelConfig

PATCH = "patch_level_decoder."
CHAR = "char_level_decoder.base."
HEAD_SIZE = 64
ASCII = 128
#: Buffers GPT-2 modules of some transformers versions save beside the weights (causal masks).
_MASK_BUFFERS = re.compile(r".*\.attn\.(bias|masked_bias)$")
#: Per-block GPT-2 tensor -> (ours, transposed).
_BLOCK = {
    "ln_1.weight": ("norm1.weight", False), "ln_1.bias": ("norm1.bias", False),
    "attn.c_attn.weight": ("attn.qkv.weight", True), "attn.c_attn.bias": ("attn.qkv.bias", False),
    "attn.c_proj.weight": ("attn.proj.weight", True), "attn.c_proj.bias": ("attn.proj.bias", False),
    "ln_2.weight": ("norm2.weight", False), "ln_2.bias": ("norm2.bias", False),
    "mlp.c_fc.weight": ("mlp.0.weight", True), "mlp.c_fc.bias": ("mlp.0.bias", False),
    "mlp.c_proj.weight": ("mlp.2.weight", True), "mlp.c_proj.bias": ("mlp.2.bias", False),
}
#: Source format -> (name in messages, character positions beyond the patch size).
SOURCES = {"notagen": ("NotaGen", 1), "tunesformer": ("TunesFormer/EMusicGen", 0)}


def state_dict_of(checkpoint: Mapping[str, Any], source: str) -> dict[str, Tensor]:
    """The model weights of a loaded checkpoint: its ``model`` entry (the sources' layout)."""
    weights = checkpoint.get("model", checkpoint)
    if not isinstance(weights, Mapping) or not all(isinstance(v, Tensor) for v in weights.values()):
        raise UserError(f"the checkpoint holds no {SOURCES[source][0]} state dict (no 'model' entry of tensors)")
    return {str(k): v for k, v in weights.items()}


def convert(checkpoint: Mapping[str, Any], source: str) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """(model config as plain values, our state dict) of a source checkpoint; every
    inconsistency is a one-line UserError, before anything is written."""
    label, extra_positions = SOURCES[source]
    weights = state_dict_of(checkpoint, source)
    _check_architecture(weights, label)
    config = _infer_config(weights, source, label, extra_positions)
    state = _renamed(weights, config, label)
    model = AbcTransformer(config)
    expected = model.saved_state()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise UserError(f"the {label} checkpoint lacks {missing[0]} (and {len(missing) - 1} more)")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise UserError(f"the {label} checkpoint's tensor for {name} has shape {list(tensor.shape)}, "
                            f"not {list(expected[name].shape)} as its other tensors imply")
    return asdict(config), {name: t.float().contiguous() for name, t in state.items()}


def _check_architecture(weights: Mapping[str, Tensor], label: str) -> None:
    needed = (PATCH + "patch_embedding.weight", CHAR + "transformer.wte.weight")
    if not all(key in weights for key in needed):
        sample = next(iter(weights), "nothing")
        raise UserError(f"not a {label} checkpoint: no patch embedding and character decoder "
                        f"(its first tensor is {sample!r}); is it another architecture's?")
    extra = [k for k in weights if not k.startswith((PATCH, CHAR))]
    if extra:
        raise UserError(f"the {label} checkpoint has a tensor {extra[0]!r} outside its two decoders")


def _layers(weights: Mapping[str, Tensor], prefix: str) -> int:
    found = {int(m.group(1)) for k in weights if (m := re.match(re.escape(prefix) + r"h\.(\d+)\.", k))}
    if found != set(range(len(found))):
        raise UserError(f"the checkpoint's layers under {prefix} are not numbered 0..n-1")
    return len(found)


def _infer_config(weights: Mapping[str, Tensor], source: str, label: str, extra_positions: int) -> ModelConfig:
    embed = weights[PATCH + "patch_embedding.weight"]
    if embed.dim() != 2 or embed.shape[1] % ASCII:
        raise UserError(f"the {label} patch embedding has shape {list(embed.shape)}: not [hidden, patch_size x 128]")
    hidden, patch_size = embed.shape[0], embed.shape[1] // ASCII
    char_embed = weights[CHAR + "transformer.wte.weight"]
    if tuple(char_embed.shape) != (ASCII, hidden):
        raise UserError(f"the {label} character embedding has shape {list(char_embed.shape)}, not [128, {hidden}]")
    if hidden % HEAD_SIZE:
        raise UserError(f"hidden size {hidden} is not a multiple of {label}'s {HEAD_SIZE}-wide heads")
    fc = weights.get(PATCH + "base.h.0.mlp.c_fc.weight")
    if fc is None or fc.dim() != 2 or fc.shape[1] % hidden:
        raise UserError(f"the {label} checkpoint has no first patch-level block of width {hidden}")
    positions = weights.get(PATCH + "base.wpe.weight")
    char_positions = weights.get(CHAR + "transformer.wpe.weight")
    if positions is None or char_positions is None:
        raise UserError(f"the {label} checkpoint lacks a position table")
    if char_positions.shape[0] != patch_size + extra_positions:
        other = next((SOURCES[s][0] for s, (_, e) in SOURCES.items() if char_positions.shape[0] == patch_size + e), None)
        hint = f"; it looks like a {other} checkpoint" if other else ""
        raise UserError(f"{char_positions.shape[0]} character positions for {patch_size}-character patches: "
                        f"a {label} checkpoint has {patch_size + extra_positions}{hint}")
    layers, char_layers = _layers(weights, PATCH + "base."), _layers(weights, CHAR + "transformer.")
    if not layers or not char_layers:
        raise UserError(f"the {label} checkpoint has no transformer blocks")
    return ModelConfig(
        patch_size=patch_size, max_patches=positions.shape[0], patch_hidden=hidden, patch_layers=layers,
        patch_heads=hidden // HEAD_SIZE, char_hidden=hidden, char_layers=char_layers,
        char_heads=hidden // HEAD_SIZE, mlp_ratio=fc.shape[1] // hidden, dropout=0.1, bias=True,
        tied_head=True, char_positions=char_positions.shape[0], text_format=source,
    )


def _renamed(weights: Mapping[str, Tensor], config: ModelConfig, label: str) -> dict[str, Tensor]:
    """Our names for the source's tensors (mask buffers and the unused patch-level token
    embedding left out); a tensor with no place here is refused."""
    state: dict[str, Tensor] = {
        "patch_embed.weight": weights[PATCH + "patch_embedding.weight"].t(),
        "char_embed.weight": weights[CHAR + "transformer.wte.weight"],
    }
    placed = {PATCH + "patch_embedding.weight", CHAR + "transformer.wte.weight", PATCH + "base.wte.weight"}
    if PATCH + "patch_embedding.bias" in weights:
        state["patch_bias"] = weights[PATCH + "patch_embedding.bias"]
        placed.add(PATCH + "patch_embedding.bias")
    for ours, theirs in (("patch_decoder.", PATCH + "base."), ("char_decoder.", CHAR + "transformer.")):
        for name, tensor in weights.items():
            if not name.startswith(theirs) or name in placed:
                continue
            rest = name[len(theirs) :]
            block = re.fullmatch(r"h\.(\d+)\.(.+)", rest)
            if rest in ("wpe.weight", "ln_f.weight", "ln_f.bias"):
                target = {"wpe.weight": "positions.weight", "ln_f.weight": "norm.weight", "ln_f.bias": "norm.bias"}[rest]
                state[ours + target] = tensor
            elif block and block.group(2) in _BLOCK:
                target, transposed = _BLOCK[block.group(2)]
                state[f"{ours}blocks.{block.group(1)}.{target}"] = tensor.t() if transposed else tensor
            elif not _MASK_BUFFERS.fullmatch(name):
                raise UserError(f"the {label} checkpoint has a tensor {name!r} that a GPT-2 decoder does not")
            placed.add(name)
    _check_tied_head(weights, label)
    placed.add(CHAR + "lm_head.weight")
    unplaced = sorted(set(weights) - placed)
    if unplaced:
        raise UserError(f"the {label} checkpoint has a tensor {unplaced[0]!r} that has no place in the model")
    return state


def _check_tied_head(weights: Mapping[str, Tensor], label: str) -> None:
    head = weights.get(CHAR + "lm_head.weight")
    if head is not None and not torch.equal(head, weights[CHAR + "transformer.wte.weight"]):
        raise UserError(f"the {label} checkpoint's character head is not tied to its embedding, as the source's is")
