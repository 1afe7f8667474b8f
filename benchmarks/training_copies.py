"""What flagging training copies costs `musegen generate`, against generating the pieces.

    python benchmarks/training_copies.py [--data DATASET] [--model default|PATH] [--pieces 4]
        [--bars 16] [--seed 0] [--json out.json]

`generate` indexes its model's training pieces once per run (`scoring.training_copies`) and
finds each piece's nearest one. Timed here: reading and indexing the training split (`--data`,
or music21's bundled Essen folk songs, 8,514 tunes, when none is given; best of two), the
query per generated piece, and generating those pieces with `--model`. The check's
share of a run of `--pieces` pieces is (index + queries) / (index + queries + generation).
Goal: under 10% for a run of 4 pieces of 16 bars.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(stderr=True)
out = Console()


def essen_tunes() -> list[tuple[str, str]]:
    """Every tune of music21's bundled Essen collection, as (id, ABC)."""
    import music21

    from musegen_cli.notation.formats import split_abc_tunes

    root = Path(music21.__file__).parent / "corpus" / "essenFolksong"
    return [(f"{path.stem}:{number}", abc) for path in sorted(root.glob("*.abc"))
            for number, abc in enumerate(split_abc_tunes(path.read_bytes().decode("latin-1")), start=1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder (its train split)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--pieces", type=int, default=4)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from musegen_cli.contract import GenerateRequest
    from musegen_cli.models import resolve_model
    from musegen_cli.registry import get_registry
    from musegen_cli.scoring.similarity import SimilarityIndex, dataset_pieces

    builds = []
    for _ in range(2):  # reading the pieces and indexing them, as generate does
        started = time.perf_counter()
        training = dataset_pieces(args.data) if args.data else essen_tunes()
        index = SimilarityIndex(training)
        builds.append(time.perf_counter() - started)
    registry = get_registry()
    info = resolve_model(args.model, registry)
    model = registry.require("generate", info.family).sampler.load(info.path, torch.device("cpu"))
    started = time.perf_counter()
    pieces = model.generate(GenerateRequest(conditions={}, count=args.pieces, seed=args.seed, max_bars=args.bars))
    generation = time.perf_counter() - started
    started = time.perf_counter()
    matches = index.nearest_many(pieces)
    queries = time.perf_counter() - started
    check = min(builds) + queries
    share = check / (check + generation)

    table = Table(title=f"Flagging training copies — {len(training)} training pieces, {args.pieces} pieces of "
                  f"{args.bars} bars from {info.name}")
    for column in ("read + index (s)", "query (ms/piece)", "generation (s/piece)", "check's share of the run",
                   "copies found"):
        table.add_column(column, justify="right")
    table.add_row(f"{min(builds):.3f}", f"{1000 * queries / len(pieces):.2f}", f"{generation / len(pieces):.2f}",
                  f"{100 * share:.1f}%", str(sum(m.is_copy for m in matches)))
    out.print(table)
    met = share < 0.10
    out.print(f"{'[green]✓[/green]' if met else '[red]✗[/red]'} the check takes under 10% of the run")
    if args.json is not None:
        report = {"training_pieces": len(training), "index_seconds": min(builds), "query_ms": 1000 * queries / len(pieces),
                  "generation_seconds_per_piece": generation / len(pieces), "share": share}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
