"""`musegen evolve`: gated on the capability it needs.

It says plainly, with exit code 2, that no installed family can serve it until a family
with the conditioning-vector capability is installed.
"""

from __future__ import annotations

import typer

from musegen_cli.cli.options import FamilyOption
from musegen_cli.errors import UnsupportedError

EXAMPLES = {
    "evolve": "musegen evolve --interactive --population 8",
}
SUMMARIES = {
    "evolve": "Evolve a generator's conditioning toward a listener's taste.",
}


def _make(command: str):
    def run(family: FamilyOption = None) -> None:
        from musegen_cli.registry import get_registry

        chosen = get_registry().require(command, family)
        raise UnsupportedError(
            f"the {chosen.name} family has the capability, but 'musegen {command}' is not part of this version yet"
        )

    run.__doc__ = SUMMARIES[command]
    return run


def register(app: typer.Typer) -> None:
    for command, example in EXAMPLES.items():
        app.command(command, epilog=f"Example:\n\n  {example}")(_make(command))
