"""The DPO-Positive loss and one training pass on a debug abc-transformer."""

import math

import pytest
import torch

from musegen_cli.alignment.dpo import DpoOptions, TrainPair, dpop_loss, reference_log_probs, train_pairs
from tests.alignment.canned import POOL


def test_dpop_loss_matches_hand_computation():
    pc, pr, rc, rr = torch.tensor([-10.0, -5.0]), torch.tensor([-12.0, -4.0]), torch.tensor([-11.0, -4.5]), \
        torch.tensor([-11.0, -4.0])
    beta, lam = 0.1, 10.0
    expected = []
    for a, b, c, d in zip(pc.tolist(), pr.tolist(), rc.tolist(), rr.tolist()):
        margin = (a - c) - (b - d) - lam * max(0.0, c - a)
        expected.append(-math.log(1 / (1 + math.exp(-beta * margin))))
    assert dpop_loss(pc, pr, rc, rr, beta, lam).item() == pytest.approx(sum(expected) / 2, rel=1e-6)
    # Policy equal to reference: log 2 whatever the pieces.
    same = torch.tensor([-3.0])
    assert dpop_loss(same, same, same, same, 0.1, 10.0).item() == pytest.approx(math.log(2))


def test_penalty_applies_only_when_chosen_falls_below_reference():
    up = dpop_loss(torch.tensor([-9.0]), torch.tensor([-10.0]), torch.tensor([-10.0]), torch.tensor([-10.0]), 1.0, 10.0)
    down = dpop_loss(torch.tensor([-11.0]), torch.tensor([-12.0]), torch.tensor([-10.0]), torch.tensor([-10.0]), 1.0, 10.0)
    # Same DPO margin (+1) both times, but the second lowers the chosen piece: penalised.
    assert up.item() == pytest.approx(-math.log(1 / (1 + math.exp(-1.0))))
    assert down.item() > up.item() + 5


def _pairs(capability, loaded):
    chosen, rejected = POOL[0], POOL[2]
    ref = reference_log_probs(capability, loaded, [chosen, rejected], [{"emotion": "Q1"}] * 2)
    return [TrainPair({"emotion": "Q1"}, chosen, rejected, ref[0], ref[1])] * 2


def test_training_raises_chosen_over_rejected(abc_model_dir):
    from musegen_plugins.abc_transformer.family import FAMILY
    from musegen_plugins.abc_transformer.inference import load

    capability = FAMILY.log_probability
    policy = load(abc_model_dir)
    pairs = _pairs(capability, policy)
    before = capability.log_prob(policy, [POOL[0], POOL[2]], [{"emotion": "Q1"}] * 2)
    stats = train_pairs(capability, policy, pairs, DpoOptions(lr=3e-3, epochs=4, batch_size=2), seed=0)
    after = capability.log_prob(policy, [POOL[0], POOL[2]], [{"emotion": "Q1"}] * 2)
    assert stats["steps"] == 4 and stats["loss"] < stats["loss_first_epoch"] <= math.log(2) + 1e-4
    assert after[0] - after[1] > before[0] - before[1] + 1.0
    assert after[0] > before[0] - 1e-3  # DPO-Positive: the chosen piece does not fall


def test_training_is_deterministic_and_log_probs_carry_gradients(abc_model_dir):
    from musegen_plugins.abc_transformer.family import FAMILY
    from musegen_plugins.abc_transformer.inference import load

    capability = FAMILY.log_probability
    values = capability.sequence_log_probs(load(abc_model_dir), POOL[:2], [{}, {"emotion": "Q2"}])
    assert values.shape == (2,) and values.requires_grad
    floats = capability.log_prob(load(abc_model_dir), POOL[:2], [{}, {}])
    assert values[0].item() == pytest.approx(floats[0], rel=1e-5)  # no emotion: no template lines
    runs = []
    for _ in range(2):
        policy = load(abc_model_dir)
        runs.append(train_pairs(capability, policy, _pairs(capability, policy), DpoOptions(lr=1e-3), seed=3))
    assert runs[0] == runs[1]
