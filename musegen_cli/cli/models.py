"""`musegen models`: the models musegen can use, by name, family, size and location; `add` and
`remove` name model folders that live elsewhere (`musegen_cli.registered_models`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

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


EPILOG = """Examples:

  musegen models                              # the same as `musegen models list`

  musegen models --json | jq '.[].path'

  musegen models add runs/mine                # now `musegen generate -m mine` finds it

  musegen models add runs/folk-2 --name folk

  musegen models remove folk                  # forgets the name; the folder stays

Bundled models ship with a family; user models are folders in your models folder; registered runs are folders elsewhere that `models add` named."""


def register(app: typer.Typer) -> None:
    """The `musegen models` group: `list` (also what plain `musegen models` runs), `add`,
    `remove`, and the subcommands of other modules (`models_import`), each added by its own
    `register_*(models_app)` function."""
    from musegen_cli.cli.models_import import register_import

    models_app = typer.Typer(help="The models musegen can use; `musegen models import` brings in another project's.")
    app.add_typer(models_app, name="models")
    register_import(models_app)

    @models_app.callback(invoke_without_command=True, epilog=EPILOG)
    def models(ctx: typer.Context, json_output: JsonFlag = False) -> None:
        """List bundled, user and registered models: name, family, size, where (`list`)."""
        if ctx.invoked_subcommand is None:
            show_models(json_output)

    @models_app.command("list", epilog=EPILOG)
    def list_command(json_output: JsonFlag = False) -> None:
        """List bundled, user and registered models: name, family, size, where."""
        show_models(json_output)

    @models_app.command("add", epilog=EPILOG)
    def add_command(
        folder: Annotated[Path, typer.Argument(help="A model folder, e.g. what `musegen train -o` wrote.")],
        name: Annotated[Optional[str], typer.Option("--name", help="The name to use in --model (default: the "
                                                    "folder's name).")] = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Name a model folder, so that every --model/-m finds it from any folder."""
        from musegen_cli import registered_models
        from musegen_cli.models import list_models
        from musegen_cli.registry import get_registry

        taken = [m.name for m in list_models(get_registry())]
        added, path = registered_models.add(folder, name, taken)
        if json_output:
            emit_json({"name": added, "path": str(path)})
            return
        console.print(f"Registered {path} as {added!r}: use it with --model {added}.")

    @models_app.command("remove", epilog=EPILOG)
    def remove_command(
        name: Annotated[str, typer.Argument(help="A name given with `musegen models add`.")],
        json_output: JsonFlag = False,
    ) -> None:
        """Forget a registered name (the model folder is not touched)."""
        from musegen_cli import registered_models

        path = registered_models.remove(name)
        if json_output:
            emit_json({"name": name, "path": str(path)})
            return
        console.print(f"Removed the name {name!r}; {path} is left as it was.")


def show_models(json_output: bool) -> None:
    from rich.table import Table

    from musegen_cli import paths
    from musegen_cli.models import list_models
    from musegen_cli.registry import get_registry

    found = list_models(get_registry())
    if json_output:
        emit_json([m.to_dict() for m in found])
        return
    if not found:
        console.print(f"No models yet. Train one with `musegen train`, save one in {paths.models_dir()}, "
                      "or name a folder with `musegen models add PATH`.")
        return
    table = Table("name", "family", "size", "source", "path",
                  caption=f"user models folder: {paths.models_dir()}", caption_justify="left")
    for m in found:
        table.add_row(m.name, m.family, _human_size(m.size_bytes), m.source, str(m.path))
    stdout_console.print(table)
