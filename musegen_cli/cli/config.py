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
        candidates = config.config_files()
        read = [path for path in candidates if path.is_file()]  # what `config.load` read
        not_found = [path for path in candidates if not path.is_file()]
        if json_output:
            emit_json(
                {
                    "settings": {s.key: {"value": s.value, "source": s.source} for s in settings.values()},
                    "files": [str(p) for p in read],
                    "files_not_found": [str(p) for p in not_found],
                }
            )
            return
        table = Table("setting", "value", "source", "environment variable", "meaning")
        for key, setting in sorted(settings.items()):
            table.add_row(key, repr(setting.value), setting.source, config.env_name(key), config.DEFAULTS[key][1])
        stdout_console.print(table)
        stdout_console.print("Files read (lowest priority first): " + (", ".join(map(str, read)) or "none"))
        if not_found:
            stdout_console.print("Not found (read when they exist): " + ", ".join(map(str, not_found)))
