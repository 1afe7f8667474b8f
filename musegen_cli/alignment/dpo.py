"""The DPO-Positive objective and the training pass over one iteration's pairs.

DPO-Positive (Pal et al. 2024, "Smaug"), the loss NotaGen's CLaMP-DPO trains with:

    loss = -log sigmoid(beta * ((logp_c - ref_c) - (logp_r - ref_r) - lambda * max(0, ref_c - logp_c)))

`logp` are the policy's and `ref` the frozen reference model's summed log-probabilities of
the chosen (c) and rejected (r) piece of a pair. The penalty term keeps plain DPO from
lowering the probability of the chosen piece too (it only has to rise relative to the
rejected one). Reference log-probabilities are computed once per iteration, before training.

Training is plain: AdamW, shuffled pairs in small batches for a few epochs, gradients clipped;
the module stays in eval mode (no dropout), so policy and reference agree exactly at the
first step and a seed fixes every number.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from musegen_cli.contract import LoadedModel, LogProbability


@dataclass(frozen=True)
class DpoOptions:
    beta: float = 0.1
    lam: float = 10.0  # the DPO-Positive penalty weight (`--lambda`)
    lr: float = 1e-5
    epochs: int = 1
    batch_size: int = 16  # pairs per optimizer step: four sets of 8 x 8 pairs make 16 steps
    grad_clip: float = 1.0
    weight_decay: float = 0.0


@dataclass(frozen=True)
class TrainPair:
    """A pair with its conditions and the reference model's log-probabilities."""

    conditions: Mapping[str, str]
    chosen: str
    rejected: str
    ref_chosen: float
    ref_rejected: float


def dpop_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
              ref_rejected: torch.Tensor, beta: float, lam: float) -> torch.Tensor:
    """Mean DPO-Positive loss over pairs (module doc); every argument is [B]."""
    import torch
    import torch.nn.functional as F

    penalty = torch.clamp(ref_chosen - policy_chosen, min=0.0)
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected) - lam * penalty
    return -F.logsigmoid(beta * margin).mean()


def reference_log_probs(capability: LogProbability, reference: LoadedModel,
                        pieces: Sequence[str], conditions: Sequence[Mapping[str, str]]) -> list[float]:
    import torch

    with torch.no_grad():
        return capability.sequence_log_probs(reference, pieces, conditions).float().cpu().tolist()


def train_pairs(capability: LogProbability, policy: LoadedModel, pairs: Sequence[TrainPair],
                options: DpoOptions, seed: int,
                progress: Callable[..., Iterable[Any]] = lambda items, **_: items) -> dict[str, float]:
    """Update `policy` in place on the pairs (at least one, `epochs` >= 1). Returns the steps
    taken, the mean loss of the first and the last epoch, and the last epoch's mean margin
    (policy minus reference log-ratio of chosen over rejected, in nats)."""
    import torch

    module = capability.trainable(policy)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=options.lr, weight_decay=options.weight_decay)
    device = params[0].device
    schedule: list[tuple[int, list[int]]] = []
    for epoch in range(options.epochs):
        indices = list(range(len(pairs)))
        rng.shuffle(indices)
        schedule += [(epoch, indices[s : s + options.batch_size]) for s in range(0, len(indices), options.batch_size)]
    sums = [[0.0, 0.0, 0] for _ in range(options.epochs)]  # loss, margin, pairs
    for epoch, chunk in progress(schedule, total=len(schedule), description="training"):
        batch = [pairs[i] for i in chunk]
        conditions = [p.conditions for p in batch]
        logp = capability.sequence_log_probs(policy, [p.chosen for p in batch] + [p.rejected for p in batch],
                                             conditions + conditions).float()
        chosen, rejected = logp[: len(batch)], logp[len(batch) :]
        ref_c = torch.tensor([p.ref_chosen for p in batch], device=device)
        ref_r = torch.tensor([p.ref_rejected for p in batch], device=device)
        loss = dpop_loss(chosen, rejected, ref_c, ref_r, options.beta, options.lam)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, options.grad_clip)
        optimizer.step()
        margin = ((chosen - ref_c) - (rejected - ref_r)).detach()
        sums[epoch][0] += float(loss.detach()) * len(batch)
        sums[epoch][1] += float(margin.sum())
        sums[epoch][2] += len(batch)
    means = [(loss / n, margin / n) for loss, margin, n in sums]
    return {"steps": len(schedule), "loss_first_epoch": means[0][0], "loss": means[-1][0], "margin": means[-1][1]}
