"""`musegen data build`: a clean, labelled, split ABC dataset from the corpus or a folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from musegen_cli.cli.options import JsonFlag
from musegen_cli.cli.output import console, emit_json


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Build training datasets.", no_args_is_help=True)
    app.add_typer(data_app, name="data")

    @data_app.command(
        "build",
        epilog=(
            "Examples:\n\n"
            "  musegen data build -o data/folk                 # all ~13,000 corpus folk tunes\n\n"
            "  musegen data build corpus:oneills1850 -o data/oneills\n\n"
            "  musegen data build my_tunes/ -o data/mine --json"
        ),
    )
    def build_command(
        output: Annotated[Path, typer.Option("-o", "--output", help="Dataset folder to write.")],
        sources: Annotated[
            Optional[list[str]], typer.Argument(help="corpus, corpus:COLLECTION, or files/folders of ABC.")
        ] = None,
        workers: Annotated[int, typer.Option("--workers", min=1, help="Processes for labelling.")] = max(
            1, min(4, os.cpu_count() or 1)
        ),
        limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Keep only the first N tunes.")] = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Clean, deduplicate, label (emotion, mode, tempo, register, meter, key) and split ABC tunes."""
        from musegen_cli.data.build import build

        manifest = build(
            sources or ["corpus"], output, command=" ".join(["musegen", *sys.argv[1:]]), workers=workers, limit=limit
        )
        if json_output:
            emit_json(manifest)
            return
        counts = ", ".join(f"{name} {info['pieces']}" for name, info in manifest["files"].items())
        console.print(f"Wrote {manifest['pieces']} tunes to {output} ({counts}); quadrants {manifest['quadrants']}.")
