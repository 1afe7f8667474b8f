"""Training throughput of the abc-transformer and test-split bits per character of a model.

    python benchmarks/training.py --data runs/data-folk [--model default|PATH] [--seconds 60]

Throughput: the real trainer (`musegen_plugins.abc_transformer.training.train`) runs the chosen
preset for `--seconds` at each thread count, on the same data and seed, side by side in one
run; the table gives the median characters/s of its progress reports after the first (warm-up)
one. Quality: the model's loss and bits per character on the dataset's test split, with every
condition in the prompt, as the trainer measures validation.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from musegen_cli.contract import TrainRequest
from musegen_cli.models import resolve_model
from musegen_cli.registry import get_registry
from musegen_plugins.abc_transformer.training import evaluate_split, train


def throughput(data: str, preset: str, threads: int, seconds: float) -> dict[str, float]:
    torch.set_num_threads(threads)
    reports: list[float] = []

    def record(figures):
        if "chars_per_s" in figures:
            reports.append(float(figures["chars_per_s"]))

    with tempfile.TemporaryDirectory() as out:
        request = TrainRequest(
            data=data,
            output=Path(out) / "run",
            preset=preset,
            seed=0,
            device=torch.device("cpu"),
            options={"max_minutes": seconds / 60, "max_steps": 100_000, "eval_every": 100_000},
        )
        train(request, record)
    steady = reports[1:] or reports
    return {"threads": threads, "reports": len(reports), "chars_per_s": statistics.median(steady) if steady else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a dataset folder from `musegen data build`")
    parser.add_argument("--model", help="model name or folder whose test-split bpc to report")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    console = Console()

    table = Table(title=f"abc-transformer training throughput ({args.preset}, {args.seconds:.0f} s each)")
    for column in ("threads", "progress reports", "chars/s (median)", "vs 1 thread"):
        table.add_column(column, justify="right")
    rows = [throughput(args.data, args.preset, int(n), args.seconds) for n in args.threads.split(",")]
    base = rows[0]["chars_per_s"] or 1.0
    for row in rows:
        table.add_row(str(row["threads"]), str(row["reports"]), f"{row['chars_per_s']:,.0f}", f"{row['chars_per_s'] / base:.2f}x")
    console.print(table)

    if args.model:
        model = resolve_model(args.model, get_registry())
        figures = evaluate_split(model.path, Path(args.data), "test")
        quality = Table(title=f"test split of {args.data}: {model.name}")
        for column in ("pieces", "characters", "loss (nats/token)", "bits per character"):
            quality.add_column(column, justify="right")
        quality.add_row(str(figures["pieces"]), f"{figures['chars']:,}", f"{figures['loss']:.4f}", f"{figures['bpc']:.4f}")
        console.print(quality)


if __name__ == "__main__":
    main()
