"""`musegen data build`: a clean, labelled, split ABC dataset from the corpus or a folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from musegen_cli.cli.options import JsonFlag, SeedOption
from musegen_cli.cli.output import console, emit_json
from musegen_cli.parallel import default_workers


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Build training datasets.", no_args_is_help=True)
    app.add_typer(data_app, name="data")

    @data_app.command(
        "build",
        epilog=(
            "Examples:\n\n"
            "  musegen data build -o data/all                  # ~13,000 folk tunes + ~1,900 scores\n\n"
            "  musegen data build corpus:folk --balance 0.4 -o data/folk\n\n"
            "  musegen data build corpus:bach corpus:oneills1850 --transpose 2 -o data/mix\n\n"
            "  musegen data build my_tunes/ -o data/mine --json"
        ),
    )
    def build_command(
        output: Annotated[Path, typer.Option("-o", "--output", help="Dataset folder to write.")],
        sources: Annotated[
            Optional[list[str]],
            typer.Argument(
                help="corpus (folk + scores), corpus:folk, corpus:scores, corpus:COLLECTION or "
                "corpus:COMPOSER, or files/folders of ABC, MusicXML, Humdrum, MIDI."
            )
        ] = None,
        workers: Annotated[
            int, typer.Option("--workers", min=1, help="Processes for converting and labelling.")
        ] = default_workers(),
        limit: Annotated[
            Optional[int], typer.Option("--limit", min=1, help="Keep only the first N tunes and score files.")
        ] = None,
        balance: Annotated[
            Optional[float],
            typer.Option(
                "--balance",
                help="Add parallel-minor copies of major training pieces until Q2+Q3 reach this share of train "
                "(e.g. 0.4).",
            ),
        ] = None,
        transpose: Annotated[
            int, typer.Option("--transpose", min=0, max=10, help="Add N copies of each training piece, transposed within +-5 semitones.")
        ] = 0,
        seed: SeedOption = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Clean, deduplicate, label (emotion, mode, tempo, register, meter, key; period, composer,
        instrumentation for scores), split, and optionally augment the training split."""
        from musegen_cli.data.build import build

        manifest = build(
            sources or ["corpus"],
            output,
            command=" ".join(["musegen", *sys.argv[1:]]),
            workers=workers,
            limit=limit,
            balance=balance,
            transpose=transpose,
            seed=seed or 0,
        )
        if json_output:
            emit_json(manifest)
            return
        counts = ", ".join(f"{name} {info['pieces']}" for name, info in manifest["files"].items())
        console.print(f"Wrote {manifest['pieces']} pieces to {output} ({counts}); quadrants {manifest['quadrants']}.")
