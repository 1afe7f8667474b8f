"""`musegen models`: the models musegen can use, by name, family, size and location."""

from __future__ import annotations

import typer

from musegen_cli.cli.options import JsonFlag
from musegen_cli.cli.output import console, emit_json, stdout_console


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def register(app: typer.Typer) -> None:
    from musegen_cli.cli.models_import import register_import

    models_app = typer.Typer(help="The models musegen can use; `musegen models import` brings in another project's.")
    app.add_typer(models_app, name="models")
    register_import(models_app)

    @models_app.callback(
        invoke_without_command=True,
        epilog="Examples:\n\n  musegen models\n\n  musegen models --json | jq '.[].path'",
    )
    def models(ctx: typer.Context, json_output: JsonFlag = False) -> None:
        """List installed (bundled) and user models: name, family, size, where."""
        if ctx.invoked_subcommand is not None:
            return
        from rich.table import Table

        from musegen_cli import paths
        from musegen_cli.models import list_models
        from musegen_cli.registry import get_registry

        found = list_models(get_registry())
        if json_output:
            emit_json([m.to_dict() for m in found])
            return
        if not found:
            console.print(f"No models yet. Train one with `musegen train`, or save one in {paths.models_dir()}.")
            return
        table = Table("name", "family", "size", "source", "path")
        for m in found:
            table.add_row(m.name, m.family, _human_size(m.size_bytes), m.source, str(m.path))
        stdout_console.print(table)
