"""Patch sequences as model input: cropping long pieces and padding batches.

Shared by the models that read bar patches (`abc_patches`): the abc-transformer and the
scoring encoder. Cropping keeps a piece's header (through its ``K:`` line, so the key,
meter and any condition lines stay in view) and a window of the body: its start, or with
an ``rng`` (training) a random window.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import torch

from musegen_cli.notation.abc_patches import PAD, encode


def header_patches(text: str, patch_size: int) -> int:
    """How many patches the text's header takes, from its start through the first ``K:`` line
    (1, the begin patch, without one)."""
    lines = text.split("\n")
    k_line = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
    if k_line is None:
        return 1
    return len(encode("\n".join(lines[: k_line + 1]) + "\n", patch_size, add_end=False))


def crop_patches(text: str, patch_size: int, max_patches: int,
                 rng: random.Random | None = None) -> tuple[list[list[int]], int]:
    """The text's patches cropped to ``max_patches`` (module doc), and how many header
    patches it has; a header longer than the crop is itself cut, leaving one body patch."""
    patches = encode(text, patch_size)
    head = header_patches(text, patch_size)
    if len(patches) <= max_patches:
        return patches, head
    kept_head = min(head, max_patches - 1)
    room = max_patches - kept_head
    start = kept_head + (rng.randrange(len(patches) - kept_head - room + 1) if rng is not None else 0)
    return patches[:kept_head] + patches[start : start + room], head


def collate(rows: list[list[list[int]]], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad patch sequences into ids [B, P, S] and a patch mask [B, P]."""
    longest, size = max(len(r) for r in rows), len(rows[0][0])
    ids = torch.full((len(rows), longest, size), PAD, dtype=torch.long)
    mask = torch.zeros(len(rows), longest, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = True
    return ids.to(device), mask.to(device)


class LengthBatches:
    """Which items the n-th batch holds, from (seed, n) alone, so a resumed run sees exactly
    the batches an uninterrupted one would.

    Each epoch shuffles the items, sorts runs of ``run`` batches by length (little padding)
    and shuffles the batch order. With ``drop_last`` every batch is full (a contrastive loss
    needs that); otherwise the last batch of an epoch may be short.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: str, run: int = 32,
                 drop_last: bool = False) -> None:
        self.lengths, self.seed, self.run = lengths, seed, run
        self.batch_size = min(batch_size, len(lengths)) if drop_last else batch_size
        self.drop_last = drop_last
        per_epoch = len(lengths) // self.batch_size if drop_last else math.ceil(len(lengths) / batch_size)
        self.per_epoch = max(1, per_epoch)
        self._epoch, self._batches = -1, []

    def _make(self, epoch: int) -> list[list[int]]:
        rng = random.Random(f"{self.seed}-epoch-{epoch}")
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        if self.drop_last:
            order = order[: self.per_epoch * self.batch_size]
        run = self.batch_size * self.run
        batches: list[list[int]] = []
        for start in range(0, len(order), run):
            chunk = sorted(order[start : start + run], key=lambda i: self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        rng.shuffle(batches)
        return batches

    def __getitem__(self, n: int) -> list[int]:
        epoch, index = divmod(n, self.per_epoch)
        if epoch != self._epoch:
            self._epoch, self._batches = epoch, self._make(epoch)
        return self._batches[index % len(self._batches)]
