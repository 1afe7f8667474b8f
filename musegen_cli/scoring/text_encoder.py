"""The scorer's text encoder: hashed word tokens and a small bidirectional transformer.

Any text encodes, with no vocabulary file: lowercase words (``6/8`` and ``o'neill's`` stay one
word) are hashed with CRC-32, which is the same in every process and on every machine
(Python's ``hash()`` is salted per process), into a fixed number of buckets. Unknown words
share buckets with others, which costs a little precision and nothing else. Every text
starts with a begin token, so even the empty text has one position to pool.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from musegen_cli.scoring.music_encoder import Encoder, init_weights, masked_mean

PAD_ID, BEGIN_ID = 0, 1
_RESERVED = 2
_WORD = re.compile(r"[a-z0-9]+(?:['/#][a-z0-9]+)*#?")


@dataclass(frozen=True)
class TextEncoderConfig:
    """Shape of a text encoder; plain values only, so ``asdict`` gives its JSON form."""

    buckets: int = 4096
    max_tokens: int = 48
    hidden: int = 128
    layers: int = 2
    heads: int = 2
    mlp_ratio: int = 4
    dropout: float = 0.1
    dim: int = 128  # the shared embedding size (music and text)


def words(text: str) -> list[str]:
    """Lowercase word tokens: ``"In 6/8 time, D#"`` -> ``["in", "6/8", "time", "d#"]``."""
    return _WORD.findall(text.lower())


def token_ids(text: str, buckets: int, max_tokens: int) -> list[int]:
    """The begin token, then each word's CRC-32 bucket (ids 2 .. buckets - 1), cut to ``max_tokens``."""
    hashed = [_RESERVED + zlib.crc32(word.encode("utf-8")) % (buckets - _RESERVED) for word in words(text)]
    return [BEGIN_ID, *hashed][:max_tokens]


class TextEncoder(nn.Module):
    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        c = self.config = config
        self.token_embed = nn.Embedding(c.buckets, c.hidden)
        self.encoder = Encoder(c.hidden, c.layers, c.heads, c.mlp_ratio, c.dropout, c.max_tokens)
        self.project = nn.Linear(c.hidden, c.dim, bias=False)
        init_weights(self, c.layers)

    def tokenize(self, texts: Sequence[str], device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
        """Right-padded token ids [B, T] and a mask [B, T] of real tokens."""
        rows = [token_ids(text, self.config.buckets, self.config.max_tokens) for text in texts]
        longest = max((len(r) for r in rows), default=1)
        ids = torch.full((len(rows), longest), PAD_ID, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        return ids.to(device), (ids != PAD_ID).to(device)

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        """L2-normalised text embeddings [B, D] (mean over real tokens, then projected)."""
        states = self.encoder(self.token_embed(ids), mask)
        return F.normalize(self.project(masked_mean(states, mask)), dim=-1)
