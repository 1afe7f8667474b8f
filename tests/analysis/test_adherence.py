"""Requested conditions measured on the piece, and primes that contradict them."""

from __future__ import annotations

import pytest

from musegen_cli.analysis.adherence import conditions_held, prime_conflicts
from musegen_cli.analysis.features import analyze_abc

MINOR_JIG = "X:1\nT:t\nM:6/8\nL:1/8\nK:Dm\nDFA dAF|DFA d3|AFD EFE|D3 D3|]\n"
PIANO = "X:1\nT:t\nM:4/4\nL:1/8\nV:1\nV:2 clef=bass\nK:C\n[V:1]c8|[V:2]C,8|\n"
CHOIR = 'X:1\nT:t\nM:4/4\nL:1/8\nV:1 name="Soprano"\nV:2 name="Alto"\nK:C\n[V:1]c8|[V:2]G8|\n'


def held(abc: str, **conditions: str) -> dict[str, bool | None]:
    return {r.name: r.held for r in conditions_held(abc, analyze_abc(abc), conditions)}


def test_key_mode_and_meter_are_read_off_the_piece() -> None:
    assert held(MINOR_JIG, key="Dm", mode="minor", meter="6/8") == {"key": True, "mode": True, "meter": True}
    assert held(MINOR_JIG, key="D", mode="major", meter="7/8") == {"key": False, "mode": False, "meter": False}
    (miss,) = [r for r in conditions_held(MINOR_JIG, analyze_abc(MINOR_JIG), {"meter": "7/8"})]
    assert miss.miss == "meter 7/8 was asked for, the piece has 6/8"


def test_keyboard_is_two_staves_not_choir_parts_and_composers_are_not_measurable() -> None:
    assert held(PIANO, instrumentation="Keyboard") == {"instrumentation": True}
    assert held(CHOIR, instrumentation="Keyboard") == {"instrumentation": False}
    assert held(MINOR_JIG, instrumentation="Keyboard", composer="Chopin, Frederic") == {
        "instrumentation": False, "composer": None}


@pytest.mark.parametrize("conditions,count", [
    ({"key": "Dm"}, 1), ({"key": "D"}, 0), ({"emotion": "Q3"}, 1), ({"emotion": "Q1"}, 0),
    ({"mode": "minor", "meter": "6/8"}, 2), ({"meter": "4/4"}, 0)])
def test_a_prime_that_contradicts_the_conditions_is_named(conditions, count) -> None:
    prime = "X:1\nT:Start\nM:4/4\nL:1/8\nK:D\nd2f2 a2f2|\n"
    problems = prime_conflicts(prime, conditions)
    assert len(problems) == count
    assert all("K:D" in p or "M:4/4" in p for p in problems)
