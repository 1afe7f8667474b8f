"""`musegen train`: fit a model family on music, with checkpoints and resume."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

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
from musegen_cli.registry import Capability, Registry


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


EXAMPLES = (
    "Examples:\n\n"
    "  musegen train --family abc-transformer --data corpus --preset small -o runs/folk\n\n"
    "  musegen train --family abc-transformer --data my_tunes/ --init-from default -o runs/mine\n\n"
    "  musegen train --family music-encoder --data runs/data-folk -o runs/scorer   # the scorer\n\n"
    "  musegen train -o runs/folk --resume      # continue from the last checkpoint (family, seed as recorded)\n\n"
    "  torchrun --nproc-per-node 8 -m musegen_cli train ...   # many GPUs"
)


def set_keys_help(registry: Registry) -> str:
    """The `--set` keys of every family that trains, from its trainer's options dataclass."""
    import dataclasses

    lines = ["--set KEY=VALUE keys (type, default), by family:"]
    for family in registry.with_capability(Capability.TRAINER):
        options = family.features.train_options
        if options is None or not dataclasses.is_dataclass(options):
            lines.append(f"{family.name}: see the family's documentation (its trainer lists no options).")
            continue
        keys = [f"{f.name} ({f.type}, {_default(f)})" for f in dataclasses.fields(options)]
        lines.append(f"{family.name}: {', '.join(keys)}.")
    return "\n\n".join(lines)


def _default(field: Any) -> str:
    import dataclasses

    value = field.default_factory() if field.default is dataclasses.MISSING else field.default
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


class TrainCommand(TyperCommand):
    """`musegen train`, whose help ends with the families' `--set` keys, looked up only when
    the help is shown (the registry and the options dataclasses stay unloaded otherwise)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from musegen_cli.registry import get_registry

        self.epilog = f"{EXAMPLES}\n\n{set_keys_help(get_registry())}"
        super().format_help(ctx, formatter)


def register(app: typer.Typer) -> None:
    @app.command("train", cls=TrainCommand)
    def train(
        output: Annotated[Path, typer.Option("-o", "--output", help="Model directory to write.")],
        data: Annotated[Optional[str], typer.Option(
            "--data", help="Folder or file of music, or `corpus` (default: corpus; with --resume, the data the "
            "run recorded).")] = None,
        family: FamilyOption = None,
        preset: Annotated[str, typer.Option("--preset", help="Named model size (see `musegen plugins`).")] = "small",
        resume: Annotated[bool, typer.Option(
            "--resume", help="Continue from the last checkpoint in -o, with the family, seed and data it "
            "records.")] = False,
        init_from: Annotated[
            Optional[str], typer.Option("--init-from", help="Fine-tune from this model (name or path).")
        ] = None,
        set_: Annotated[
            list[str], typer.Option("--set", help="Family-specific option KEY=VALUE (repeatable; keys below).")
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
        if resume:
            family, seed, data = _resumed(output, family, seed, data)
        chosen = registry.require("train", family)
        if preset not in chosen.presets:
            known = ", ".join(sorted(chosen.presets)) or "none"
            raise UserError(f"unknown preset {preset!r} for {chosen.name}; choose one of: {known}")
        init_path = resolve_model(init_from, registry).path if init_from else None
        seed = choose_seed(seed)
        request = TrainRequest(
            data=data or "corpus",
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


def _resumed(output: Path, family: str | None, seed: int | None,
             data: str | None) -> tuple[str, int | None, str | None]:
    """The family, seed and data a run in ``output`` recorded; a different --family or --seed is
    an error (a --data given anew is used: the trainer decides what it accepts)."""
    from musegen_cli.model_dir import training_record

    if not output.exists():
        raise UserError(f"--resume: {output} does not exist yet; train without --resume first")
    record = training_record(output)
    if family is not None and family != record["family"]:
        raise UserError(f"--resume: {output} holds a model of the {record['family']} family, not {family}; "
                        "leave out --family (a resumed run keeps its family)")
    provenance = record.get("provenance") or {}
    recorded = provenance.get("seed")
    if seed is not None and recorded is not None and seed != recorded:
        raise UserError(f"--resume: {output} was trained with seed {recorded}; leave out --seed "
                        "(a resumed run keeps its seed)")
    return record["family"], recorded if recorded is not None else seed, data or provenance.get("data")
