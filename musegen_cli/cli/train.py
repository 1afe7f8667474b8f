"""`musegen train`: fit a model family on music, with checkpoints and resume."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from musegen_cli.cli.options import (
    DeviceOption,
    FamilyOption,
    JsonFlag,
    SeedOption,
    choose_seed,
    parse_assignments,
    prepare_device,
)
from musegen_cli.cli.output import console, emit_json
from musegen_cli.errors import UserError


def _format(figures: Mapping[str, Any]) -> str:
    return "  ".join(
        f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
        for key, value in figures.items()
        if key not in ("step", "total_steps")
    )


class TrainingDisplay:
    """Shows a trainer's progress reports: a live bar (step, loss, chars/s) on a terminal,
    plain lines otherwise; validation results always stay on screen as lines."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> TrainingDisplay:
        if not self.quiet and console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[figures]}"), console=console,
            )
            self.bar.start()
            self.task = self.bar.add_task("training", total=None, figures="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, figures: Mapping[str, Any]) -> None:
        if self.quiet:
            return
        is_validation = any(key.startswith("valid") for key in figures)
        if self.bar is None or is_validation:
            console.print(f"step {figures.get('step', '?')}  {_format(figures)}")
        if self.bar is not None and not is_validation:
            self.bar.update(
                self.task, completed=figures.get("step", 0), total=figures.get("total_steps"), figures=_format(figures)
            )


def register(app: typer.Typer) -> None:
    @app.command(
        "train",
        epilog=(
            "Examples:\n\n"
            "  musegen train --family abc-transformer --data corpus --preset small -o runs/folk\n\n"
            "  musegen train --family abc-transformer --data my_tunes/ --init-from default -o runs/mine\n\n"
            "  musegen train ... -o runs/folk --resume      # continue from the last checkpoint\n\n"
            "  torchrun --nproc-per-node 8 -m musegen_cli train ...   # many GPUs"
        ),
    )
    def train(
        output: Annotated[Path, typer.Option("-o", "--output", help="Model directory to write.")],
        data: Annotated[str, typer.Option("--data", help="Folder or file of music, or `corpus`.")] = "corpus",
        family: FamilyOption = None,
        preset: Annotated[str, typer.Option("--preset", help="Named model size (see `musegen plugins`).")] = "small",
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in -o.")] = False,
        init_from: Annotated[
            Optional[str], typer.Option("--init-from", help="Fine-tune from this model (name or path).")
        ] = None,
        set_: Annotated[
            list[str], typer.Option("--set", help="Family-specific option KEY=VALUE (repeatable).")
        ] = [],  # noqa: B006 - Typer needs a literal default
        seed: SeedOption = None,
        device: DeviceOption = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Train a model family on music and save a self-describing model directory."""
        from musegen_cli.contract import TrainRequest
        from musegen_cli.models import resolve_model
        from musegen_cli.registry import get_registry

        registry = get_registry()
        chosen = registry.require("train", family)
        if preset not in chosen.presets:
            known = ", ".join(sorted(chosen.presets)) or "none"
            raise UserError(f"unknown preset {preset!r} for {chosen.name}; choose one of: {known}")
        if resume and not output.exists():
            raise UserError(f"--resume: {output} does not exist yet; train without --resume first")
        init_path = resolve_model(init_from, registry).path if init_from else None
        seed = choose_seed(seed)
        request = TrainRequest(
            data=data,
            output=output,
            preset=preset,
            seed=seed,
            device=prepare_device(device),
            resume=resume,
            init_from=init_path,
            options=parse_assignments(set_),
        )

        with TrainingDisplay(quiet=json_output) as display:
            model_dir = chosen.trainer.train(request, display.update)
        if json_output:
            emit_json({"model": str(model_dir), "family": chosen.name, "seed": seed})
        else:
            console.print(f"Saved model to {model_dir} (seed {seed}).")
