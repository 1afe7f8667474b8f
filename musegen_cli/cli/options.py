"""Flags that many subcommands share, declared once so they read the same everywhere."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any, Optional

import typer

from musegen_cli import config
from musegen_cli.device import resolve_device, set_threads
from musegen_cli.errors import UserError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
SeedOption = Annotated[
    Optional[int], typer.Option("--seed", help="Seed every random choice; the run is then repeatable.")
]
DeviceOption = Annotated[
    Optional[str],
    typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps (default: the `device` setting).", show_default=False),
]
FamilyOption = Annotated[
    Optional[str], typer.Option("--family", help="Model family to use (see `musegen plugins`).")
]


def choose_seed(seed: int | None) -> int:
    """The seed to use: the given one, or a fresh one that the command reports back."""
    return seed if seed is not None else secrets.randbelow(2**31)


def prepare_device(flag: str | None):  # -> torch.device; torch stays unimported at module load
    """Apply the thread setting and resolve the device from flag or configuration."""
    set_threads(config.get("threads"))
    return resolve_device(config.get("device", flag))


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` flags into a dict; values read as JSON when they parse (numbers, bools)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"expected KEY=VALUE, got {pair!r}")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options
