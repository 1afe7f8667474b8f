"""Options validated from their fields' rules (musegen_cli.training.options)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from musegen_cli.errors import UserError
from musegen_cli.training.options import (
    FRACTION,
    NON_NEGATIVE,
    POSITIVE_OR_NONE,
    POSITIVE_WHOLE,
    WHOLE,
    read_options,
    setting,
)


@dataclass(frozen=True)
class Knobs:
    steps: int = setting(10, POSITIVE_WHOLE)
    restarts: int = setting(0, WHOLE)
    lr: float = setting(1e-3, NON_NEGATIVE)
    keep: float = setting(0.5, FRACTION)
    minutes: float | None = setting(None, POSITIVE_OR_NONE)
    name: str = "free"  # no rule: any value


def read(values, base=None):
    return read_options(Knobs, values, base, owner="the test family")


def test_defaults_and_overrides_build_the_dataclass():
    assert read({}) == Knobs()
    assert read({"steps": 3, "minutes": 0.5, "name": 7}) == Knobs(steps=3, minutes=0.5, name=7)


def test_values_go_over_the_base_not_the_defaults():
    base = read({"steps": 4, "keep": 1})
    assert read({"lr": 0}, base) == Knobs(steps=4, keep=1, lr=0)


def test_an_unknown_key_names_it_and_lists_the_options():
    with pytest.raises(UserError, match=r"the test family has no training option 'stepz'; its options: steps, "):
        read({"stepz": 1})


@pytest.mark.parametrize(("key", "value", "wording"), [
    ("steps", 0, "a positive whole number"),
    ("steps", 2.0, "a positive whole number"),
    ("steps", True, "a positive whole number"),
    ("restarts", -1, "a whole number >= 0"),
    ("lr", -0.1, "a number >= 0"),
    ("lr", "fast", "a number >= 0"),
    ("keep", 1.5, "a number from 0 to 1"),
    ("keep", -0.01, "a number from 0 to 1"),
    ("minutes", 0, "a positive number"),
])
def test_a_value_its_rule_refuses_is_a_user_error_naming_the_key(key, value, wording):
    with pytest.raises(UserError, match=f"^{key} must be {wording}, got {value!r}$"):
        read({key: value})


def test_edges_of_each_rule_are_accepted():
    assert read({"steps": 1, "restarts": 0, "lr": 0, "keep": 0, "minutes": None}).steps == 1
    assert read({"keep": 1, "minutes": 1e-6}).keep == 1
