"""Evolution benchmark: GA, CMA-ES and SNES against random search, with a synthetic listener.

    python benchmarks/evolve.py [--model default|PATH] [--scorer default|PATH]
        [--directions DIR ...] [--listener "a slow sad air in a minor key"] [--population 8]
        [--generations 5] [--repeats 2] [--bars 16] [--seed 0] [--json out.json]

The listener is `evolution.fitness.SyntheticListener`: a fixed preference point in the
scorer's space (the embedding of `--listener`), rating 1-5. The genome is the strengths of
`--directions` (steering folders fitted on this model) or, without them, the condition
choice of `musegen evolve` (emotion and register). Each searcher evaluates `--generations`
batches of `--population` (a generation is one evaluated batch, `evolution.search`), and
random search at least as many evaluations as the searcher that used the most. Per searcher:
best and mean fitness of each generation (averaged over `--repeats` seeds), the final best
so far, and the validity of the winners (the three best genomes, their pieces generated
again and checked with `generation.is_valid`). Goal: every searcher's final best beats
random search's, and the winners remain valid music.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from musegen_cli.errors import UserError  # noqa: E402

SEARCHERS = ("ga", "cmaes", "snes")
DEFAULT_LISTENER = "a slow sad air in a minor key, calm, low register"

console = Console(stderr=True)
out = Console() if Console().is_terminal else Console(width=150)


class Setup:
    """Model, genome and listener shared by every run."""

    def __init__(self, args: argparse.Namespace) -> None:
        from musegen_cli.evolution.fitness import SyntheticListener
        from musegen_cli.evolution.genomes import ConditionGenome, DirectionGenome
        from musegen_cli.models import resolve_model
        from musegen_cli.registry import get_registry
        from musegen_cli.scoring.scorer import load_scorer
        from musegen_cli.steering import directions as dirs

        registry = get_registry()
        self.info = resolve_model(args.model, registry)
        self.family = registry.require("evolve", self.info.family)
        self.model = self.family.sampler.load(self.info.path, "cpu")
        self.scorer = load_scorer(None if args.scorer == "default" else args.scorer)
        self.point = self.scorer.embed_texts([args.listener])[0]
        self.listener = SyntheticListener(self.point)
        if args.directions:
            self.genome: Any = DirectionGenome([dirs.load(Path(d)) for d in args.directions])
        else:
            declared = {c.name: c.values for c in self.family.conditions if c.values}
            self.genome = ConditionGenome({"emotion": declared["emotion"], "register": declared["register"]})
        self.bars = args.bars

    def generate(self, controls: Any, seed: int) -> str:
        from musegen_cli.contract import GenerateRequest
        from musegen_cli.steering.specs import steered

        request = GenerateRequest(conditions=controls.conditions, count=1, seed=seed, max_bars=self.bars,
                                  sampling={"temperature": 1.0, "top_p": 0.95})
        with steered(self.family, self.model, controls.steering, seed):
            return self.model.generate(request)[0]


def run_one(setup: Setup, searcher_name: str, population: int, generations: int, seed: int) -> dict[str, Any]:
    import torch

    from musegen_cli.evolution.fitness import Fitness
    from musegen_cli.evolution.search import SearchSettings, make_problem, make_searcher, run_search

    torch.manual_seed(seed)
    fitness = Fitness("listener", setup.scorer, point=setup.point)
    problem = make_problem(setup.genome, setup.generate, fitness, seed)
    searcher = make_searcher(searcher_name, problem, SearchSettings(population=population, generations=generations))
    result = run_search(searcher, problem, generations)
    return {"summaries": [vars(s) for s in result.summaries], "best": result.best, "evaluations": problem.evaluations}


def winners_valid(setup: Setup, best: list[tuple[float, list[float]]], seed: int) -> float:
    import torch

    from musegen_cli.analysis.features import analyze_abc
    from musegen_cli.evolution.genomes import candidate_seed
    from musegen_cli.generation import is_valid

    top = best[:3]
    pieces = [setup.generate(setup.genome.decode(torch.tensor(g)), candidate_seed(seed)) for _, g in top]
    return sum(is_valid(p, analyze_abc(p)) for p in pieces) / max(1, len(pieces))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--scorer", default="default")
    parser.add_argument("--directions", action="append", default=[], help="steering folder (repeat)")
    parser.add_argument("--listener", default=DEFAULT_LISTENER, help="the synthetic listener's taste")
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2, help="seeds per searcher (results averaged)")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        console.print(f"evolve: error: {exc}")
        return 2


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def run(args: argparse.Namespace) -> int:
    setup = Setup(args)
    console.print(f"{setup.info.name}; genome of {setup.genome.length} genes ({', '.join(setup.genome.names())}); "
                  f"listener: {args.listener!r}")
    runs: dict[str, list[dict[str, Any]]] = {}
    for name in SEARCHERS:
        runs[name] = [run_one(setup, name, args.population, args.generations, args.seed + r) for r in range(args.repeats)]
        console.print(f"{name}: done")
    most = max(r["evaluations"] for rs in runs.values() for r in rs)
    random_generations = math.ceil(most / args.population)
    runs["random"] = [run_one(setup, "random", args.population, random_generations, args.seed + r)
                      for r in range(args.repeats)]

    table = Table(title=f"Evolution with a synthetic listener — {setup.info.name}, population {args.population}, "
                  f"{args.repeats} seeds (fitness: listener rating 1-5, mean over seeds)")
    for column in ("searcher", "evaluations", "best per generation", "mean per generation", "final best so far",
                   "winners valid", "beats random"):
        table.add_column(column, justify="left" if column == "searcher" else "right")
    report: dict[str, Any] = {}
    random_best = _mean([r["summaries"][-1]["best_so_far"] for r in runs["random"]])
    for name, results in runs.items():
        count = min(len(r["summaries"]) for r in results)
        best = [_mean([r["summaries"][g]["best"] for r in results]) for g in range(count)]
        mean = [_mean([r["summaries"][g]["mean"] for r in results]) for g in range(count)]
        final = _mean([r["summaries"][-1]["best_so_far"] for r in results])
        valid = _mean([winners_valid(setup, r["best"], args.seed + i) for i, r in enumerate(results)])
        evaluations = _mean([r["evaluations"] for r in results])
        beats = "-" if name == "random" else ("yes" if final > random_best else "[red]no[/red]")
        table.add_row(name, f"{evaluations:.0f}", " ".join(f"{v:.2f}" for v in best),
                      " ".join(f"{v:.2f}" for v in mean), f"{final:.3f}", f"{100 * valid:.0f}%", beats)
        report[name] = {"evaluations": evaluations, "best": best, "mean": mean, "final_best": final,
                        "winners_valid": valid, "beats_random": name != "random" and final > random_best}
    out.print(table)
    met = all(report[n]["beats_random"] for n in SEARCHERS)
    out.print(f"{'[green]✓[/green]' if met else '[red]✗[/red]'} every searcher beats random search "
              f"(random: {random_best:.3f} after {report['random']['evaluations']:.0f} evaluations)")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"model": setup.info.name, "listener": args.listener, "runs": report,
                                         "settings": {k: (str(v) if isinstance(v, Path) else v)
                                                      for k, v in vars(args).items()}}, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
