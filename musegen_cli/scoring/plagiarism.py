"""Is a piece a copy of a reference piece? The nearest-piece cosine, calibrated on the set itself.

The scorer's embeddings of tunes in one style lie close together: a piece's cosine to its
nearest reference piece is 0.99 or more whether it copies that piece or not, so the raw
number says little. What it is compared with here is the reference set's own
nearest-neighbour distribution: for each reference piece, the cosine to its nearest *other*
reference piece (leave-one-out). A piece's *percentile* is the share of reference pieces
whose nearest neighbour is no closer to them than the piece is to its nearest reference
piece, and its *verdict*:

- ``copy``: at or above the 99th percentile (`COPY_PERCENTILE`): closer than all but the 1%
  most duplicated pieces of the set are to each other;
- ``close``: at or above the 90th (`CLOSE_PERCENTILE`);
- ``unrelated``: below.

Measured with the bundled scorer (`benchmarks/plagiarism.py`, 320 reference tunes of one
collection, copies are 60 of them with notes changed, 80 held-out tunes of the same
collection are the unrelated ones): a copy with one note changed is a ``copy`` in 77-87% of
cases and at least ``close`` in 93-100%; with three changed, 45-67% and 77-87%; unrelated
tunes are a ``copy`` in 0-1% and ``close`` in 4-11% of cases. With fewer than
`MIN_PIECES` reference pieces the percentiles are too coarse, and no verdict is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from musegen_cli.scoring.reference import ReferenceSet

COPY_PERCENTILE = 99.0
CLOSE_PERCENTILE = 90.0
#: Reference sets smaller than this get no percentile or verdict.
MIN_PIECES = 20
VERDICTS = ("copy", "close", "unrelated")


@dataclass(frozen=True)
class Calibration:
    """The reference set's leave-one-out nearest-neighbour cosines, sorted ascending."""

    neighbours: np.ndarray

    def percentile(self, similarity: float) -> float:
        """Share (0-100) of reference pieces whose nearest other piece is no closer than `similarity`."""
        return 100.0 * int(np.searchsorted(self.neighbours, similarity, side="right")) / len(self.neighbours)

    def threshold(self, percentile: float) -> float:
        """The lowest cosine whose percentile reaches `percentile`."""
        rank = max(1, math.ceil(percentile * len(self.neighbours) / 100 - 1e-9))
        return float(self.neighbours[rank - 1])

    @property
    def copy_threshold(self) -> float:
        return self.threshold(COPY_PERCENTILE)

    @property
    def close_threshold(self) -> float:
        return self.threshold(CLOSE_PERCENTILE)

    def verdict(self, similarity: float) -> str:
        if similarity >= self.copy_threshold:
            return "copy"
        return "close" if similarity >= self.close_threshold else "unrelated"


def calibrate(reference: ReferenceSet) -> Calibration | None:
    """The calibration of a reference set; None when it has fewer than `MIN_PIECES` pieces."""
    if len(reference.names) < MIN_PIECES:
        return None
    return Calibration(np.sort(neighbour_similarities(reference.embeddings)))


def neighbour_similarities(embeddings: torch.Tensor, chunk: int = 1024) -> np.ndarray:
    """For each row of L2-normalised `embeddings` [M, D], the highest cosine to any other row
    (computed a block of rows at a time, so memory stays at chunk x M)."""
    import torch

    best = []
    for start in range(0, len(embeddings), chunk):
        block = embeddings[start : start + chunk] @ embeddings.T
        rows = torch.arange(len(block))
        block[rows, rows + start] = -torch.inf
        best.append(block.max(1).values)
    return torch.cat(best).double().numpy()
