"""`musegen plugins`: registered model families and what each can do."""

from __future__ import annotations

import typer

from musegen_cli.cli.options import JsonFlag
from musegen_cli.cli.output import console, emit_json, stdout_console
from musegen_cli.registry import ModelFamily


def feature_words(family: ModelFamily) -> str:
    """The declared features in a few words: output, then each optional ability it has."""
    features = family.features
    words = [f"{features.output} out", "/".join(features.precisions)]
    words += [word for word, has in (("streams", features.streams), ("compiled steps", features.compiled_steps),
                                     ("element transfer", features.element_transfer),
                                     ("training log-prob", features.training_log_prob),
                                     ("dpo", features.preference_training)) if has]
    return ", ".join(words) + (f"; layers read {features.layer_input}" if family.layers else "")


def register(app: typer.Typer) -> None:
    @app.command(
        "plugins",
        epilog="Examples:\n\n  musegen plugins\n\n  MUSEGEN_PLUGINS=abc-transformer musegen plugins --json",
    )
    def plugins(json_output: JsonFlag = False) -> None:
        """List registered model families, their capabilities, declared features, conditions and presets."""
        from rich.table import Table

        from musegen_cli.registry import Capability, get_registry

        registry = get_registry()
        rows = [
            {
                "name": family.name,
                "version": family.version,
                "description": family.description,
                "capabilities": [c.value for c in Capability if family.supports(c)],
                "features": family.features.listed(),
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
        table = Table("family", "capabilities", "features", "conditions", "presets", "description")
        for row, family in zip(rows, sorted(registry.families.values(), key=lambda f: f.name)):
            table.add_row(
                f"{row['name']} {row['version']}",
                ", ".join(row["capabilities"]),
                feature_words(family),
                ", ".join(row["conditions"]) or "-",
                ", ".join(row["presets"]) or "-",
                row["description"],
            )
        stdout_console.print(table)
