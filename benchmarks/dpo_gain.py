"""What `musegen dpo` gains per iteration: the emotion reward, and the reference reward.

    python benchmarks/dpo_gain.py [--model default|PATH] [--scorer PATH] [--samples 128]
        [--top 0.0625] [--bottom 0.0625]
        [--emotion-iterations 3] [--reference-iterations 2] [--reference corpus:bach]
        [--bars 8] [--lr 1e-5] [--epochs 1] [--batch 16] [--beta 0.3] [--reference-model start|iteration]
        [--eval-samples 128] [--seed 0] [--device auto]
        [--work DIR] [--json]

Two runs of the real `musegen dpo` loop (`musegen_cli.alignment.loop`) from the same model:

1. `--emotion-iterations` iterations with the emotion reward, one condition set per quadrant:
   per model (start, iter-1, ...), emotion-control accuracy (the analyzer's quadrant is the one
   asked for), mean reward (the scorer's probability of the asked quadrant), validity;
2. `--reference-iterations` iterations with the reference reward toward `--reference`, a
   collection the model did not train on (the default model trained on folk tunes only, so
   Bach chorales are held out): mean reference score (cosine to the set's centroid) per model.

Each iteration builds its pairs from `--samples` pieces per condition set (the reference
run, which has no conditions, samples four seeded groups: as many pieces and pairs as the four
emotions): the best and worst `--top`/`--bottom` share of 128 are 8 and 8, the worst are the
few invalid pieces first, so the pairs teach validity along with the reward (16 samples with
shares of 0.25 rejected mostly valid pieces, and one seed lost 5 points of validity in one
iteration). The 256 pairs (4 sets of 8 x 8) train in steps of `--batch 16`: 16 steps, each
averaging 16 pairs (64 pieces per set at 4 pairs a step, the same 16 steps, moved validity
by up to 5 points in one iteration). Then every model (start, iter-1, ...) is measured again
on one common set of seeds, `--eval-samples` pieces per condition set, so differences between
rows are the models' and not the sampling's. Goal: on those seeds the reward rises every
iteration and validity does not fall: no model more than `FALL_ERRORS` standard errors of the
difference below any earlier one (the strict reading, never lower at all, is printed too).
Runs are kept in `--work` (default: a temporary folder) and resume if run again there.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from musegen_cli.errors import UserError  # noqa: E402

console = Console(stderr=True)
#: Every model is measured again on seeds no iteration sampled with: the same for all models.
EVAL_SEED_OFFSET = 424_242
#: The reference run samples its unconditioned pieces in this many seeded groups (as many as
#: the emotion run's quadrants). Pairs form within a group, so both runs train on as many
#: pairs: one group of as many pieces makes four times the pairs and steps, and drifted further.
REFERENCE_GROUPS = 4
#: A drop in validity counts as a fall beyond this many standard errors of the difference
#: (one-sided, about 2% of the time for two samples of one model): 512 pieces at 97% valid
#: differ by about ±1 point from sampling alone.
FALL_ERRORS = 2.0


def run_one(name: str, args: argparse.Namespace, reward: dict[str, float], conditions: list[dict[str, str]],
            iterations: int, work: Path) -> list[dict[str, Any]]:
    """One dpo run; its rows, start model first, last model last."""
    from musegen_cli.alignment.dpo import DpoOptions
    from musegen_cli.alignment.loop import DpoRun, RunSettings, iteration_dir, prepare_output
    from musegen_cli.alignment.rewards import build_reward
    from musegen_cli.cli.dpo import load_reference_music
    from musegen_cli.device import resolve_device
    from musegen_cli.models import resolve_model
    from musegen_cli.registry import get_registry
    from musegen_cli.scoring.scorer import load_scorer

    registry = get_registry()
    info = resolve_model(args.model, registry)
    family = registry.require("dpo", info.family)
    scorer = load_scorer(args.scorer)
    reference = load_reference_music(args.reference, scorer)[0] if "reference" in reward else None
    settings = RunSettings(model=str(info.path.resolve()), family=family.name, reward=reward, conditions=conditions,
                           iterations=iterations, samples=args.samples, top=args.top, bottom=args.bottom,
                           dpo=DpoOptions(lr=args.lr, epochs=args.epochs, beta=args.beta, batch_size=args.batch),
                           seed=args.seed,
                           max_bars=args.bars, reference=args.reference if reference is not None else None,
                           scorer=args.scorer, reference_model=args.reference_model)
    out = work / name
    prepare_output(out, settings, resume=True)
    device = resolve_device(args.device)
    run = DpoRun(out, settings, family, build_reward(reward, conditions, scorer=scorer, reference=reference), device,
                 on_row=lambda row: console.print(f"{name}: model {row['sampled_from']} measured"))
    report = run.run()
    rows = report["rows"] + [report["final"]]
    for row in rows:  # every model again, on the same seeds
        number = int(row["sampled_from"].removeprefix("iter-")) if row["sampled_from"] != "start" else 0
        model = family.sampler.load(iteration_dir(out, number) if number else info.path, device)
        row["common"] = run.measure(model, args.seed + EVAL_SEED_OFFSET, args.eval_samples)
        console.print(f"{name}: model {row['sampled_from']} measured on the common seeds")
    return rows


def validity_change(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float]:
    """Validity of `b` minus that of `a`, and the standard error of that difference between two
    independent samples: what sampling alone moves it by."""
    error = math.sqrt(sum(c["valid"] * (1 - c["valid"]) / c["samples"] for c in (a, b)))
    return b["valid"] - a["valid"], error


def validity_changes(rows: list[dict[str, Any]]) -> list[str]:
    """Each iteration's change in validity, in points, with its sampling error."""
    common = [row["common"] for row in rows]
    return [f"{100 * change:+.1f} ± {100 * error:.1f} pt" for change, error in
            (validity_change(a, b) for a, b in zip(common, common[1:]))]


def rises(rows: list[dict[str, Any]]) -> bool:
    """The goal, on the common seeds: the reward rises at every iteration and validity falls at
    none. A fall is a drop beyond `FALL_ERRORS` standard errors below any earlier model, so that
    small drops adding up count too (a smaller one is what two samples of the same model differ
    by: `never_lower` is the strict reading)."""
    common = [row["common"] for row in rows]
    if any(b["mean_reward"] <= a["mean_reward"] for a, b in zip(common, common[1:])):
        return False
    for later, b in enumerate(common):
        for a in common[:later]:
            change, error = validity_change(a, b)
            if change < -FALL_ERRORS * error:
                return False
    return True


def never_lower(rows: list[dict[str, Any]]) -> bool:
    """Validity on the common seeds is at least the previous model's at every iteration."""
    common = [row["common"] for row in rows]
    return all(b["valid"] >= a["valid"] for a, b in zip(common, common[1:]))


def main(argv: list[str] | None = None) -> int:
    from musegen_cli.alignment.dpo import DpoOptions
    from musegen_cli.alignment.loop import REFERENCE_MODELS, RunSettings

    # `musegen dpo`'s own defaults, except --beta and --bars: the table is measured at 0.3 and 8 bars
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="model name or folder (default: default)")
    parser.add_argument("--scorer", default=None, help="scorer folder (default: the bundled one)")
    parser.add_argument("--samples", type=int, default=RunSettings.samples,
                        help="pieces per condition set and iteration")
    parser.add_argument("--top", type=float, default=RunSettings.top, help="share of each set's pieces chosen")
    parser.add_argument("--bottom", type=float, default=RunSettings.bottom, help="share of each set's pieces rejected")
    parser.add_argument("--emotion-iterations", type=int, default=3)
    parser.add_argument("--reference-iterations", type=int, default=2)
    parser.add_argument("--reference", default="corpus:bach", help="held-out collection for the reference reward")
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--lr", type=float, default=DpoOptions.lr)
    parser.add_argument("--epochs", type=int, default=DpoOptions.epochs, help="passes over each iteration's pairs")
    parser.add_argument("--batch", type=int, default=DpoOptions.batch_size, help="pairs per optimizer step")
    parser.add_argument("--beta", type=float, default=0.3, help="DPO temperature (larger: closer to the start)")
    parser.add_argument("--reference-model", default=RunSettings.reference_model, choices=REFERENCE_MODELS,
                        help="DPO's frozen reference: the run's starting model, or the one each iteration starts from")
    parser.add_argument("--eval-samples", type=int, default=128,
                        help="pieces per condition set when every model is measured on the common seeds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, default=None, help="folder for the runs (default: temporary)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON on stdout")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            work = args.work or Path(scratch)
            rows: dict[str, list[dict[str, Any]]] = {}
            if args.emotion_iterations > 0:
                rows["emotion"] = run_one("emotion", args, {"emotion": 1.0},
                                          [{"emotion": q} for q in ("Q1", "Q2", "Q3", "Q4")],
                                          args.emotion_iterations, work)
            if args.reference_iterations > 0:
                rows["reference"] = run_one("reference", args, {"reference": 1.0}, [{}] * REFERENCE_GROUPS,
                                            args.reference_iterations, work)
    except UserError as exc:
        console.print(f"dpo_gain: error: {exc}")
        return 2
    if args.json:
        print(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()}, "runs": rows}, indent=2))
        return 0
    table = Table("run", "model", "pairs", "loss", "mean reward", "emotion acc", "valid", "distinct",
                  title="dpo gain per iteration: each model measured on the same seeds "
                        f"({args.eval_samples} pieces per condition set, "
                        f"{REFERENCE_GROUPS * args.eval_samples} per model in each run)")
    for name, run_rows in rows.items():
        for row in run_rows:
            def fmt(values: dict[str, Any], key: str, spec: str = ".3f") -> str:
                value = values.get(key)
                return "-" if value is None else format(value, spec) if isinstance(value, float) else str(value)

            common = row["common"]
            table.add_row(name, row["sampled_from"], fmt(row, "pairs"), fmt(row, "loss"), fmt(common, "mean_reward"),
                          fmt(common, "emotion_accuracy", ".0%"), fmt(common, "valid", ".1%"),
                          fmt(common, "distinct", ".0%"))
        table.add_section()
    Console().print(table)
    for name, run_rows in rows.items():
        Console().print(f"{name}: reward rises every iteration and validity does not fall (no model "
                        f"{FALL_ERRORS:g} standard errors below an earlier one): " + ("yes" if rises(run_rows) else "no")
                        + "; validity never lower at all: " + ("yes" if never_lower(run_rows) else "no")
                        + " (validity change per iteration: " + ", ".join(validity_changes(run_rows)) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
