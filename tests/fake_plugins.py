"""Fake third-party families, loaded through real entry points in the registry tests."""

from musegen_cli.registry import Condition, ModelFamily

FAKE = ModelFamily(
    name="fake-family",
    description="A family that exists only for tests.",
    version="1.2",
    sampler=object(),
    conditions=(Condition("emotion", "Russell quadrant", ("Q1", "Q2", "Q3", "Q4")),),
    presets={"debug": "tiny"},
)
SAME_NAME = ModelFamily(name="fake-family", description="Clashes with FAKE.")
NOT_A_FAMILY = {"name": "dict pretending to be a family"}


def broken_import():  # pragma: no cover - never called; the module path below fails
    raise AssertionError


TRAINS_ONLY = ModelFamily(name="trains-only", description="Only a trainer.", trainer=object(), presets={"s": "x"})
