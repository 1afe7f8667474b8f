"""Which patches steering leaves alone: those written while the model is still in the header.

Steering a header line breaks it (at strength +0.5 the bundled model wrote `K:FD`, and a
`KCDD,` bar in the body), and the analyzer and every ABC tool read key and meter there. The
patch after a header line, a `%` condition line or the begin patch may itself be a header
line, so the state that writes it is not steered; from `K:` on (the header's last line, and
the body's first key) the music is steered. A field line in the body (`M:3/4`) likewise
leaves the next patch unsteered, which keeps a mid-tune change of meter or key readable.

No model code here: `HeaderGate` reads the patch ids the patch decoder embeds and tells
the hooks in `layers` where to add.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from musegen_cli.plugin import FIELD, PAD


def follows_header(text: str) -> bool:
    """Whether the patch written after this one's text may still be a header line."""
    line = text.strip()
    if not line or line.startswith("%"):
        return True
    field = FIELD.match(line)
    return field is not None and field.group(1) != "K"


class HeaderGate:
    """Per patch position, and per row for the patch being spelled: whether to steer."""

    def __init__(self, patch_text: Callable[[list[int]], str]) -> None:
        self.patch_text = patch_text
        self.positions: Tensor | None = None  # [B, P] bool: steer the state at that position
        self.rows: Tensor | None = None  # [B] bool: steer the patch each row spells next

    def read(self, patches: Tensor) -> None:
        """Note the gate for patches [B, P, S] that the patch decoder is about to run."""
        ids = patches.tolist()
        steer = [[not follows_header(self.patch_text(patch)) for patch in row] for row in ids]
        last = [max((i for i, patch in enumerate(row) if patch[0] != PAD), default=0) for row in ids]
        self.positions = torch.tensor(steer, dtype=torch.bool, device=patches.device)
        self.rows = self.positions[torch.arange(len(ids), device=patches.device), torch.tensor(last)]

    def apply(self, output: Tensor, vector: Tensor, level: str) -> Tensor:
        """``output`` [B, T, H] plus ``vector`` where the gate allows. A call the last read
        does not describe (teacher-forced scoring of sampled patches) is steered everywhere."""
        gate = self.positions if level == "patch" else self.rows
        if gate is None or gate.shape[0] != output.shape[0] or (level == "patch" and gate.shape[1] != output.shape[1]):
            return output + vector
        mask = gate[:, :, None] if level == "patch" else gate[:, None, None]
        return output + mask.to(output.dtype) * vector
