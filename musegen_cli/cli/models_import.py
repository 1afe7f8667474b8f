"""`musegen models import CHECKPOINT --from notagen|tunesformer -o DIR`: another project's
checkpoint as a musegen model folder (`musegen_cli.model_import` does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from musegen_cli.cli.options import JsonFlag
from musegen_cli.cli.output import console, emit_json

EPILOG = """Examples:

  musegen models import weights_notagenx_p_size_16_p_length_1024_p_layers_20_h_size_1280.pth --from notagen --name notagen-x

  musegen models import weights.pth --from tunesformer -o models/emusicgen

  musegen generate --model notagen-x --period Romantic --composer "Chopin, Frederic" --instrumentation Keyboard

The file is read with torch.load(weights_only=True): a checkpoint whose pickle holds anything but tensors and plain values is refused, never run. Every shape is read off the weights; the folder's musegen.json records the source format and the file's sha256."""


def register_import(models_app: typer.Typer) -> None:
    """Add the `import` command to the `musegen models` group."""

    @models_app.command("import", epilog=EPILOG)
    def import_command(
        checkpoint: Annotated[Path, typer.Argument(help="The source's checkpoint file (.pth).")],
        source: Annotated[str, typer.Option("--from", help="Its format: notagen or tunesformer.")],
        output: Annotated[
            Optional[Path], typer.Option("-o", "--output", help="Model folder to write (default: --name in your models folder).")
        ] = None,
        name: Annotated[
            Optional[str], typer.Option("--name", help="Model name (`--model NAME`); without -o the folder goes to your models folder.")
        ] = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Import a NotaGen or TunesFormer/EMusicGen checkpoint as a musegen model."""
        from musegen_cli import paths
        from musegen_cli.errors import UserError
        from musegen_cli.model_import import import_checkpoint
        from musegen_cli.registry import get_registry

        if output is None and not name:
            raise UserError("say where the model goes: -o DIR, or --name NAME for your models folder")
        if name is not None and (not name.strip() or Path(name).name != name):
            raise UserError(f"invalid model name {name!r}: use a plain name without slashes")
        target = output if output is not None else paths.models_dir() / str(name)
        done = import_checkpoint(checkpoint, source, target, get_registry(), name)
        if json_output:
            emit_json({"path": str(done.path), "family": done.family, "format": done.source,
                       "sha256": done.sha256, "parameters": done.parameters})
            return
        console.print(f"Imported {checkpoint.name} ({done.source}, {done.parameters / 1e6:.1f}M parameters) "
                      f"as {done.family} model {done.path}")
