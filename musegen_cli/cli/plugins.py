"""`musegen plugins`: registered model families and what each can do."""

from __future__ import annotations

import typer

from musegen_cli.cli.options import JsonFlag
from musegen_cli.cli.output import console, emit_json, stdout_console


def register(app: typer.Typer) -> None:
    @app.command(
        "plugins",
        epilog="Examples:\n\n  musegen plugins\n\n  MUSEGEN_PLUGINS=abc-transformer musegen plugins --json",
    )
    def plugins(json_output: JsonFlag = False) -> None:
        """List registered model families, their capabilities, conditions and presets."""
        from rich.table import Table

        from musegen_cli.registry import Capability, get_registry

        registry = get_registry()
        rows = [
            {
                "name": family.name,
                "version": family.version,
                "description": family.description,
                "capabilities": [c.value for c in Capability if family.supports(c)],
                "conditions": [c.name for c in family.conditions],
                "presets": sorted(family.presets),
                "origin": registry.origins[family.name],
            }
            for family in sorted(registry.families.values(), key=lambda f: f.name)
        ]
        if json_output:
            emit_json({"families": rows, "load_errors": registry.load_errors})
            return
        for name, error in registry.load_errors.items():
            console.print(f"[red]plugin {name!r} failed to load:[/red] {error}")
        if not rows:
            console.print("No model families are installed (see README: adding a model family).")
            return
        table = Table("family", "capabilities", "conditions", "presets", "description")
        for row in rows:
            table.add_row(
                f"{row['name']} {row['version']}",
                ", ".join(row["capabilities"]),
                ", ".join(row["conditions"]) or "-",
                ", ".join(row["presets"]) or "-",
                row["description"],
            )
        stdout_console.print(table)
