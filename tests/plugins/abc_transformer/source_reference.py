"""The reference side of the import tests: NotaGen's and TunesFormer's published composition of
transformers' GPT-2 classes, built at tiny sizes with random weights, and their training loss.

The composition (from the sources' model code): a patch-level ``GPT2Model`` fed through a
``Linear(patch_size * 128, hidden)`` of one-hot patches, and a character-level
``GPT2LMHeadModel`` whose inputs are the patch state followed by the embeddings of the
target patch's characters; labels are the target ids with padding (0) ignored, and the
model's own shifted cross-entropy is the loss. NotaGen prepends a begin id to each target
patch for that (its state takes the begin id's place); TunesFormer's patches already start
with one. Nothing here is musegen code, so the comparison is against transformers' own GPT-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class Shape:
    patch_size: int
    hidden: int
    patch_layers: int
    char_layers: int
    max_patches: int


class _Holder(nn.Module):
    """An attribute holder, so that state-dict names match the sources'."""


def build(source: str, shape: Shape, seed: int = 0) -> nn.Module:
    """The source's module tree with random weights (biases and layer norms randomized too,
    so that a dropped bias or a wrong transpose cannot pass unnoticed)."""
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model

    torch.manual_seed(seed)
    heads = shape.hidden // 64
    char_positions = shape.patch_size + 1 if source == "notagen" else shape.patch_size
    patch_config = GPT2Config(n_layer=shape.patch_layers, n_positions=shape.max_patches, n_embd=shape.hidden,
                              n_head=heads, vocab_size=1)
    char_config = GPT2Config(n_layer=shape.char_layers, n_positions=char_positions, n_embd=shape.hidden,
                             n_head=heads, vocab_size=128)
    model = _Holder()
    model.patch_level_decoder = _Holder()
    model.patch_level_decoder.patch_embedding = nn.Linear(shape.patch_size * 128, shape.hidden)
    model.patch_level_decoder.base = GPT2Model(patch_config)
    model.char_level_decoder = _Holder()
    model.char_level_decoder.base = GPT2LMHeadModel(char_config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "ln" in name:
                p.copy_(torch.randn_like(p) * 0.1 + (1.0 if "ln" in name and name.endswith("weight") else 0.0))
            else:
                p.normal_(0, 0.05)
    return model.eval()


def save_checkpoint(model: nn.Module, path: Path) -> Path:
    """The sources' checkpoint layout: the state dict under 'model', beside training state."""
    torch.save({"model": model.state_dict(), "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]},
                "epoch": 3, "best_epoch": 3, "min_eval_loss": 1.25}, path)
    return path


def loss_and_logits(source: str, model: nn.Module, patches: torch.Tensor) -> tuple[float, int, torch.Tensor]:
    """The source's training loss on one piece [P, S], the number of characters it averages
    over, and the character logits [P - 1, W, V] that predict them (W spelled positions)."""
    count, size = patches.shape
    one_hot = nn.functional.one_hot(patches, num_classes=128).float().reshape(1, count, size * 128)
    decoder = model.patch_level_decoder
    with torch.no_grad():
        states = decoder.base(inputs_embeds=decoder.patch_embedding(one_hot)).last_hidden_state[0, :-1]
    targets = patches[1:]
    if source == "notagen":
        targets = torch.cat((torch.ones_like(targets[:, :1]), targets), dim=1)
    labels = targets.masked_fill(targets == 0, -100)
    mask = (labels != -100).long()
    char_model = model.char_level_decoder.base
    embeds = char_model.transformer.wte(targets)
    embeds = torch.cat((states[:, None], embeds[:, 1:]), dim=1)
    with torch.no_grad():
        out = char_model(inputs_embeds=embeds, attention_mask=mask, labels=labels)
    scored = int((labels[:, 1:] != -100).sum())
    return float(out.loss), scored, out.logits[:, : targets.shape[1] - 1].detach()


def next_char_probs(source: str, model: nn.Module, patches: torch.Tensor, chars: list[int]) -> torch.Tensor:
    """The sources' generation step without a cache: the whole prefix of patches [P, S], then
    the state and the characters written so far; probabilities [128] of the next character."""
    count, size = patches.shape
    one_hot = nn.functional.one_hot(patches, num_classes=128).float().reshape(1, count, size * 128)
    decoder = model.patch_level_decoder
    with torch.no_grad():
        state = decoder.base(inputs_embeds=decoder.patch_embedding(one_hot)).last_hidden_state[0, -1]
    char_model = model.char_level_decoder.base
    tokens = char_model.transformer.wte(torch.tensor([1] + chars))
    embeds = torch.cat((state[None], tokens[1:]), dim=0)[None]
    with torch.no_grad():
        return char_model(inputs_embeds=embeds).logits[0, -1].softmax(-1)
