"""`musegen config`: the effective settings and where each value came from."""

from __future__ import annotations

import typer

from musegen_cli.cli.options import JsonFlag
from musegen_cli.cli.output import emit_json, stdout_console


def register(app: typer.Typer) -> None:
    @app.command(
        "config",
        epilog=(
            "Settings come from, lowest priority first: built-in defaults, the user's musegen.toml,"
            " ./musegen.toml, MUSEGEN_* environment variables, then flags.\n\n"
            "Examples:\n\n  musegen config\n\n  MUSEGEN_DEVICE=cpu musegen config --json"
        ),
    )
    def show_config(json_output: JsonFlag = False) -> None:
        """Print every setting's effective value and its source."""
        from rich.table import Table

        from musegen_cli import config

        settings = config.load()
        if json_output:
            emit_json(
                {
                    "settings": {s.key: {"value": s.value, "source": s.source} for s in settings.values()},
                    "files": [str(p) for p in config.config_files()],
                }
            )
            return
        table = Table("setting", "value", "source", "environment variable", "meaning")
        for key, setting in sorted(settings.items()):
            table.add_row(key, repr(setting.value), setting.source, config.env_name(key), config.DEFAULTS[key][1])
        stdout_console.print(table)
        stdout_console.print("Files read (lowest priority first): " + ", ".join(map(str, config.config_files())))
