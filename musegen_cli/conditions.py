"""Checking the conditions of a request against what a family declares, once, in the core.

Every command that builds a `GenerateRequest` from a user's words (generate, dpo, evolve) and
every family that checks a request made in code call `check_conditions`, so a wrong name or
value gets the same one-line message wherever it is caught.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from musegen_cli.errors import UserError
from musegen_cli.registry import Condition


def check_conditions(
    owner: str,
    declared: Iterable[Condition],
    given: Mapping[str, str],
    known: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, str]:
    """Reject conditions ``owner`` (a family's name) does not accept, or values outside the valid ones.

    Valid values come from the declaration, or for model-dependent conditions (`values=None`)
    from the loaded model's ``known``. A value that names one of them unambiguously (`Chopin`
    for "Chopin, Frederic", `q1` for "Q1") stands for it.
    """
    accepted = {c.name: c for c in declared}
    known = known or {}
    found = dict(given)
    for name, value in given.items():
        if name not in accepted:
            names = ", ".join(sorted(accepted)) or "none"
            raise UserError(f"the {owner} family does not accept the condition {name!r} (it accepts: {names})")
        values = accepted[name].values or (tuple(known[name]) if name in known else None)
        if values is not None and value not in values:
            found[name] = _unique_match(name, value, values)
    return found


def _unique_match(name: str, value: str, values: tuple[str, ...]) -> str:
    """The one known value that ``value`` names (case aside: the whole value, or its part
    before a comma, e.g. a composer's surname, or its beginning); else the error."""
    wanted = value.strip().lower()
    for test in (
        lambda v: v.lower() == wanted,
        lambda v: v.split(",")[0].strip().lower() == wanted,
        lambda v: v.lower().startswith(wanted),
    ):
        matches = [v for v in values if test(v)] if wanted else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise UserError(f"{name} {value!r} could be any of: {'; '.join(matches)}; give one of them")
    separator = "; " if any("," in v for v in values) else ", "  # composers hold commas themselves
    raise UserError(f"invalid {name} {value!r}; valid values: {separator.join(values)}")
