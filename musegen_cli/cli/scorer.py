"""`musegen scorer info`, and `musegen scorer train`: for this release an alias of
`musegen train --family music-encoder` (the scorer is a registered family), which says so."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from musegen_cli.cli.options import DeviceOption, JsonFlag, SeedOption, choose_seed, parse_assignments, prepare_device
from musegen_cli.cli.output import console, emit_json, stdout_console
from musegen_cli.errors import UserError

PRESETS = ("small", "debug")  # scorer.PRESETS, named here so --help needs no torch
#: What `scorer train` says on stderr each time: it goes in the next release.
ALIAS_NOTICE = ("`musegen scorer train` is an alias of `musegen train --family music-encoder` for this release "
                "only; use that command")


def _metrics_table(title: str, metrics: Mapping[str, Any]) -> Any:
    from rich.table import Table

    table = Table("metric", "value", title=title)
    for name, value in sorted(metrics.items()):
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    return table


def register(app: typer.Typer) -> None:
    scorer_app = typer.Typer(help="Train and inspect the learned music encoder (the scorer).", no_args_is_help=True)
    app.add_typer(scorer_app, name="scorer")

    @scorer_app.command(
        "train",
        epilog=(
            "Deprecated: use `musegen train --family music-encoder` (same options); this alias goes in the next "
            "release.\n\n"
            "Examples:\n\n"
            "  musegen scorer train --data runs/data-folk -o runs/scorer\n\n"
            "  musegen scorer train --data runs/data-folk -o runs/scorer --set max_minutes=55 --seed 1\n\n"
            "  musegen scorer train ... -o runs/scorer --resume      # continue from the last checkpoint\n\n"
            "  musegen scorer train --data corpus:oneills1850 --preset debug -o /tmp/s --set align_steps=50\n\n"
            "Options for --set: pretrain_steps, align_steps, batch_size, lr, min_lr_ratio, warmup, weight_decay, "
            "grad_clip, mask_ratio, max_minutes, pretrain_share, reserve_share, eval_every, eval_pieces, "
            "emotion_pieces, emotion_iterations, emotion_l2."
        ),
    )
    def train(
        output: Annotated[Path, typer.Option("-o", "--output", help="Scorer folder to write.")],
        data: Annotated[str, typer.Option("--data", help="Dataset folder (from `musegen data build`), or `corpus`.")],
        preset: Annotated[str, typer.Option("--preset", help=f"Model size: {', '.join(PRESETS)}.")] = "small",
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in -o.")] = False,
        set_: Annotated[
            list[str], typer.Option("--set", help="Training option KEY=VALUE (repeatable; see below).")
        ] = [],  # noqa: B006 - Typer needs a literal default
        seed: SeedOption = None,
        device: DeviceOption = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Alias of `musegen train --family music-encoder` (deprecated): train and save a scorer."""
        import json

        from musegen_cli.cli.train import TrainingDisplay
        from musegen_cli.contract import TrainRequest
        from musegen_cli.registry import get_registry

        console.print(f"[yellow]warning:[/yellow] {ALIAS_NOTICE}", soft_wrap=True)  # one line, however narrow
        if preset not in PRESETS:
            raise UserError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
        if resume and not output.exists():
            raise UserError(f"--resume: {output} does not exist yet; train without --resume first")
        family = get_registry().require("train", "music-encoder")
        request = TrainRequest(data=data, output=output, preset=preset, seed=choose_seed(seed),
                               device=prepare_device(device), resume=resume, options=parse_assignments(set_))
        with TrainingDisplay(quiet=json_output) as display:
            folder = family.trainer.train(request, display.update)
        manifest = json.loads((folder / "musegen.json").read_text(encoding="utf-8"))
        metrics, seed = manifest["metrics"], manifest["provenance"].get("seed", request.seed)  # a resumed run keeps its seed
        if json_output:
            emit_json({"scorer": str(folder), "seed": seed, "metrics": metrics})
            return
        console.print(_metrics_table("held-out metrics", {k: v for k, v in metrics.items() if not isinstance(v, dict)}))
        console.print(f"Saved scorer to {folder} (seed {seed}).")

    @scorer_app.command(
        "info",
        epilog="Examples:\n\n  musegen scorer info\n\n  musegen scorer info runs/scorer --json",
    )
    def info(
        path: Annotated[
            Optional[Path], typer.Argument(help="Scorer folder (default: the scorer bundled with musegen).")
        ] = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Show a scorer's version, config, training provenance and metrics."""
        from musegen_cli.model_dir import read_manifest
        from musegen_cli.scoring.scorer import DEFAULT_PATH, load_scorer

        scorer = load_scorer(path)  # checks the folder holds a scorer
        folder = path if path is not None else DEFAULT_PATH
        manifest = read_manifest(folder)
        summary = {"path": str(folder), "version": scorer.version, "dim": scorer.dim, "config": scorer.config,
                   "provenance": manifest.get("provenance", {}), "metrics": manifest.get("metrics", {})}
        if json_output:
            emit_json(summary)
            return
        from rich.table import Table

        about = Table("", "", show_header=False, title=f"scorer {scorer.version}")
        about.add_row("path", str(folder))
        about.add_row("dim", str(scorer.dim))
        for part in ("music", "text"):
            shape = scorer.config.get(part, {})
            about.add_row(part, ", ".join(f"{k}={v}" for k, v in shape.items()))
        provenance = summary["provenance"]
        for number, command in enumerate(provenance.get("commands", []), start=1):
            about.add_row(f"command {number}", " ".join(command))
        for key in ("command", "data", "data_manifest_hash", "seed", "training_seconds", "device", "notes"):
            if key in provenance:
                value = provenance[key]
                about.add_row(key, " ".join(value) if isinstance(value, list) else str(value))
        stdout_console.print(about)
        flat = {k: v for k, v in summary["metrics"].items() if not isinstance(v, dict)}
        if flat:
            stdout_console.print(_metrics_table("metrics", flat))
