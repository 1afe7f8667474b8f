"""Training options validated from their dataclass fields, not by hand-written checks.

A family declares each ``--set`` key as a field whose default comes from `setting`, with a
`Rule` saying which values it accepts; `read_options` merges the user's values over a base
(the defaults, or a resumed run's options), checks every field against its rule and builds
the dataclass. A family's options dataclass inherits `TrainingOptions`, whose `from_mapping`
does that and then refuses what the family's `conflict` names (checks between fields). No
torch here: ``musegen train --help`` lists the keys from these dataclasses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from musegen_cli.errors import UserError

RULE = "musegen.rule"
T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """Which values a setting accepts: whole numbers or any numbers, at least ``minimum``
    (more than it when ``strict``), at most ``maximum``, and None when ``optional``."""

    whole: bool
    minimum: float = 0
    maximum: float | None = None
    strict: bool = False
    optional: bool = False
    wording: str = ""  # how the error message names the accepted values

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, int if self.whole else (int, float)):
            return False
        if value < self.minimum or (self.strict and value == self.minimum):
            return False
        return self.maximum is None or value <= self.maximum


POSITIVE_WHOLE = Rule(whole=True, minimum=1, wording="a positive whole number")
WHOLE = Rule(whole=True, wording="a whole number >= 0")
NON_NEGATIVE = Rule(whole=False, wording="a number >= 0")
FRACTION = Rule(whole=False, maximum=1, wording="a number from 0 to 1")
POSITIVE_OR_NONE = Rule(whole=False, strict=True, optional=True, wording="a positive number")


def setting(default: Any, rule: Rule) -> Any:
    """A dataclass field with ``default`` whose values ``rule`` checks."""
    return dataclasses.field(default=default, metadata={RULE: rule})


def read_options(cls: type[T], values: Mapping[str, Any], base: T | None = None, *, owner: str) -> T:
    """``cls`` built from ``base`` (or its defaults) with ``values`` over it; an unknown key
    or a value its field's rule refuses is a `UserError` naming the key."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UserError(f"{owner} has no training option {unknown[0]!r}; its options: {', '.join(names)}")
    merged = {**dataclasses.asdict(base if base is not None else cls()), **values}  # type: ignore[call-overload]
    for field in fields:
        rule = field.metadata.get(RULE)
        if rule is not None and not rule.accepts(merged[field.name]):
            raise UserError(f"{field.name} must be {rule.wording}, got {merged[field.name]!r}")
    return cls(**merged)


class TrainingOptions:
    """The base of a trainer's options dataclass (its fields are the ``--set`` keys): `from_mapping`
    reads values by the fields' rules, then refuses what `conflict` names. ``owner`` is how
    errors name the trainer (a class attribute: "muser")."""

    owner = "this trainer"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: Self | None = None) -> Self:
        options = read_options(cls, values, base, owner=cls.owner)
        problem = options.conflict()
        if problem is not None:
            raise UserError(problem)
        return options

    def conflict(self) -> str | None:
        """What is wrong between the fields, as one line for the user; None when nothing is."""
        return None
