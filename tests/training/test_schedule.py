"""The warmup + cosine learning rate (musegen_cli.training.schedule)."""

from __future__ import annotations

import math

import pytest

from musegen_cli.training.schedule import warmup_cosine


def test_warms_up_linearly_then_decays_to_the_floor():
    rates = [warmup_cosine(s, 100, 2.0, 10, 0.1) for s in range(101)]
    assert rates[:10] == pytest.approx([2.0 * (s + 1) / 10 for s in range(10)])
    assert rates[10] == pytest.approx(2.0)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))
    assert rates[100] == pytest.approx(0.2)
    assert rates[55] == pytest.approx(0.2 + 0.5 * (1 + math.cos(math.pi * 0.5)) * 1.8)


def test_warmup_is_capped_at_a_tenth_and_may_vanish():
    assert warmup_cosine(0, 50, 1.0, 100, 0.0) == pytest.approx(1 / 5)
    assert warmup_cosine(0, 9, 1.0, 5, 0.0) == pytest.approx(1.0)  # 9 // 10 == 0: no warmup


def test_past_the_end_stays_at_the_floor():
    assert warmup_cosine(500, 100, 1.0, 0, 0.25) == pytest.approx(0.25)
