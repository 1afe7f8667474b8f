"""`musegen generate`: new music from a model, under conditions, to stdout or files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Optional

import typer

from musegen_cli.cli.options import DeviceOption, JsonFlag, SeedOption, choose_seed, prepare_device
from musegen_cli.cli.output import console, emit_json
from musegen_cli.errors import UserError
from musegen_cli.registry import ModelFamily

#: Conditions with a flag of their own; any other a family accepts goes through --condition.
NAMED_CONDITIONS = ("emotion", "period", "composer", "instrumentation")


def check_conditions(
    family: ModelFamily, given: dict[str, str], known: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """Reject conditions the family does not accept, or values outside the valid ones.

    Valid values come from the family's declaration, or for model-dependent conditions
    (`values=None`) from the loaded model's `known`.
    """
    accepted = {c.name: c for c in family.conditions}
    for name, value in given.items():
        if name not in accepted:
            names = ", ".join(sorted(accepted)) or "none"
            raise UserError(f"the {family.name} family does not accept the condition {name!r} (it accepts: {names})")
        values = accepted[name].values or known.get(name)
        if values is not None and value not in values:
            raise UserError(f"invalid {name} {value!r}; valid values: {', '.join(values)}")
    return given


def register(app: typer.Typer) -> None:
    @app.command(
        "generate",
        epilog=(
            "Examples:\n\n"
            "  musegen generate --emotion Q1\n\n"
            "  musegen generate --emotion Q3 -n 8 -o out/ --seed 7\n\n"
            "  musegen generate --period Romantic --composer Chopin --instrumentation Keyboard\n\n"
            "  musegen generate --prime start.abc --bars 16"
        ),
    )
    def generate(
        model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model name or folder.")] = None,
        emotion: Annotated[Optional[str], typer.Option("--emotion", help="Russell quadrant Q1-Q4.")] = None,
        period: Annotated[Optional[str], typer.Option("--period", help="Period, e.g. Romantic.")] = None,
        composer: Annotated[Optional[str], typer.Option("--composer", help="Composer, e.g. Chopin.")] = None,
        instrumentation: Annotated[Optional[str], typer.Option("--instrumentation", help="e.g. Keyboard.")] = None,
        condition: Annotated[
            list[str], typer.Option("--condition", "-c", help="Other condition NAME=VALUE (repeatable).")
        ] = [],  # noqa: B006 - Typer needs a literal default
        prime: Annotated[Optional[Path], typer.Option("--prime", help="ABC file whose tune to continue.")] = None,
        bars: Annotated[Optional[int], typer.Option("--bars", min=1, help="Stop after this many bars.")] = None,
        count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many pieces.")] = 1,
        temperature: Annotated[float, typer.Option("--temperature", min=0.0)] = 1.0,
        top_k: Annotated[int, typer.Option("--top-k", min=0, help="0 keeps every token.")] = 0,
        top_p: Annotated[float, typer.Option("--top-p", min=0.0, max=1.0)] = 0.95,
        output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder for the pieces.")] = None,
        seed: SeedOption = None,
        device: DeviceOption = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Generate music as ABC: on stdout, or one file per piece in -o DIR."""
        from musegen_cli import config
        from musegen_cli.contract import GenerateRequest
        from musegen_cli.files import atomic_write, read_bytes, write_stdout
        from musegen_cli.models import resolve_model
        from musegen_cli.registry import Capability, get_registry
        from musegen_cli.cli.train import parse_assignments

        registry = get_registry()
        if not registry.with_capability(Capability.SAMPLER):
            registry.require("generate")  # raises the plain "no family supports generate" error
        info = resolve_model(config.get("model", model), registry)
        family = registry.require("generate", info.family)
        named = {"emotion": emotion, "period": period, "composer": composer, "instrumentation": instrumentation}
        given = {k: v for k, v in named.items() if v is not None}
        given.update({k: str(v) for k, v in parse_assignments(condition).items()})
        seed = choose_seed(seed)
        loaded = family.sampler.load(info.path, prepare_device(device))
        request = GenerateRequest(
            conditions=check_conditions(family, given, loaded.known_conditions()),
            count=count,
            seed=seed,
            prime=read_bytes(prime).decode("utf-8", errors="replace") if prime else None,
            max_bars=bars,
            sampling={"temperature": temperature, "top_k": top_k, "top_p": top_p},
        )
        pieces = loaded.generate(request)
        written = []
        if output is not None:
            for index, text in enumerate(pieces, start=1):
                written.append(str(atomic_write(output / f"piece-{index:03d}.abc", text.rstrip("\n") + "\n")))
        elif not json_output:
            write_stdout("\n\n".join(text.rstrip("\n") for text in pieces) + "\n")
        if json_output:
            emit_json({"model": info.name, "seed": seed, "conditions": dict(given), "pieces": pieces, "files": written})
        elif written:
            console.print(f"Wrote {len(written)} piece(s) to {output} (seed {seed}).")
