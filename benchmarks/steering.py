"""Steering benchmark: how well concepts read off a model's layers, and how well steering works.

    python benchmarks/steering.py [--model default|PATH] [--data corpus|DATASET] [--pieces 400]
        [--concepts mode,register,density,meter,tonic] [--samples 24] [--strengths 0.5,1,2,4]
        [--bars 16] [--pooling mean|last|CONCEPT=POOLING,...] [--seed 0] [--json out.json]

1. Probe quality per concept: directions are fitted as `musegen steer fit` does (`--pieces`
   training pieces of the dataset, `--pooling` mean (default) or last, for every concept or per
   concept as `mode=last,register=mean`, 80/20 split); the table gives the best
   layer's RFM validation score against the best layer's linear probe (accuracy, or R^2 for
   density).
2. Steering success (for the concepts among `--concepts`), with the default settings of `--direction` (exp layer weighting,
   constant schedule, probability 1), at each strength:
   - mode, major -> minor: pieces prompted `%mode major`, steered towards minor;
   - mode, minor -> major: pieces prompted `%mode minor`, steered away from minor
     (negative strength);
   - register, low -> high: pieces prompted `%register low`, steered towards high.
   Prompts are the condition lines alone (no emotion template or header plan, which would
   write the mode into K: whatever the steering does). "moved" is the share of pieces whose
   analyzed concept (the analyzer's mode; register band from the mean pitch) is the target,
   against the same prompts unsteered (strength 0); "valid" is `generation.is_valid`.
   Goal: at some strength >= 80% moved while >= 95% stay valid.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from musegen_cli.errors import UserError  # noqa: E402

GOAL_MOVED = 0.80
GOAL_VALID = 0.95
#: (name, concept, prompt conditions, steering sign, target label)
CASES = (
    ("mode major->minor", "mode", {"mode": "major"}, +1.0, "minor"),
    ("mode minor->major", "mode", {"mode": "minor"}, -1.0, "major"),
    ("register low->high", "register", {"register": "low"}, +1.0, "high"),
)

console = Console(stderr=True)
out = Console() if Console().is_terminal else Console(width=150)


def concept_of(features: Any, concept: str) -> str | None:
    """The analyzed value of a steered concept: major/minor, or the register band."""
    from musegen_cli.analysis.labels import labels_from_features

    if not features.parses:
        return None
    return labels_from_features(features).get("mode" if concept == "mode" else "register_band")


def pooling_per_concept(spec: str, names: list[str]) -> dict[str, str]:
    """`--pooling`: one pooling for every concept (`last`), or per concept (`mode=last`; the
    concepts it does not name pool by mean)."""
    if "=" not in spec:
        chosen = {name: spec for name in names}
    else:
        pairs = [part.split("=", 1) for part in spec.split(",") if part.strip()]
        chosen = {name: "mean" for name in names} | {key.strip(): value.strip() for key, value in pairs}
    bad = {key: value for key, value in chosen.items() if key not in names or value not in ("mean", "last")}
    if bad:
        raise UserError(f"--pooling: {', '.join(f'{k}={v}' for k, v in bad.items())} is not a concept among "
                        f"--concepts pooled by mean or last")
    return chosen


def fit_all(family: Any, model: Any, info: Any, records: list[dict], names: list[str], count: int,
            seed: int, pooling: dict[str, str]) -> dict[str, Any]:
    from musegen_cli.model_dir import weights_hash
    from musegen_cli.steering.concepts import built_in
    from musegen_cli.steering.fit import fit_directions

    found = {}
    identity = {"name": info.name, "family": info.family, "weights_hash": weights_hash(info.path)}
    for name in names:
        start = time.perf_counter()
        concept = built_in(name, records, count, seed)
        activations = family.layers.capture(model, concept.pieces, None, pooling[name])
        found[name] = fit_directions(activations, concept, identity, pooling[name], seed=seed)
        console.print(f"fitted {name} on {len(concept.pieces)} pieces in {time.perf_counter() - start:.0f} s")
    return found


def steer_case(family: Any, model: Any, directions: Any, conditions: dict[str, str], sign: float, strength: float,
               concept: str, target: str, samples: int, bars: int, seed: int) -> dict[str, Any]:
    from musegen_cli.analysis.features import analyze_abc
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.generation import is_valid
    from musegen_cli.steering.injection import SteeringSpec
    from musegen_cli.steering.specs import steered

    request = GenerateRequest(conditions=conditions, count=samples, seed=seed, max_bars=bars,
                              sampling={"temperature": 1.0, "top_p": 0.95})
    specs = [SteeringSpec(directions, strength=sign * strength)] if strength else []
    with steered(family, model, specs, seed):
        pieces = model.generate(request)
    features = [analyze_abc(p) for p in pieces]
    moved = sum(concept_of(f, concept) == target for f in features)
    valid = sum(is_valid(p, f) for p, f in zip(pieces, features))
    return {"strength": strength, "moved": moved / samples, "valid": valid / samples, "n": samples}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", default="corpus", help="dataset folder, or corpus (built and cached)")
    parser.add_argument("--pieces", type=int, default=400, help="pieces per concept fit")
    parser.add_argument("--concepts", default="mode,register,density,meter,tonic")
    parser.add_argument("--samples", type=int, default=24, help="generated pieces per case and strength")
    parser.add_argument("--strengths", default="0.5,1,2,4")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--pooling", default="mean",
                        help="mean or last for every concept, or per concept: mode=last,register=mean")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        console.print(f"steering: error: {exc}")
        return 2


def run(args: argparse.Namespace) -> int:
    from musegen_cli.data.resolve import dataset_folder
    from musegen_cli.models import resolve_model
    from musegen_cli.registry import get_registry
    from musegen_cli.data.dataset import read_split

    names = [n.strip() for n in args.concepts.split(",") if n.strip()]
    strengths = [float(s) for s in args.strengths.split(",") if s.strip()]
    registry = get_registry()
    info = resolve_model(args.model, registry)
    family = registry.require("steer", info.family)
    model = family.sampler.load(info.path, "cpu")
    if hasattr(model, "use_template"):
        model.use_template = False  # prompt lines only: see the module doc
    records = read_split(dataset_folder(args.data), "train")
    pooling = pooling_per_concept(args.pooling, names)
    found = fit_all(family, model, info, records, names, args.pieces, args.seed, pooling)

    probe = Table(title=f"Probe quality per concept — {info.name}, {args.pieces} pieces")
    for column in ("concept", "pooling", "measure", "best RFM layer", "RFM", "best linear layer", "linear",
                   "RFM - linear"):
        probe.add_column(column, justify="left" if column in ("concept", "pooling", "measure") else "right")
    probes = {}
    for name in names:
        layers = found[name].layers
        rfm_layer = max(layers, key=lambda n: layers[n].rfm_score)
        linear_layer = max(layers, key=lambda n: layers[n].linear_score)
        probes[name] = {"pooling": pooling[name], "rfm_layer": rfm_layer, "rfm": layers[rfm_layer].rfm_score,
                        "linear_layer": linear_layer, "linear": layers[linear_layer].linear_score}
        measure = "R^2" if found[name].task == "regression" else "accuracy"
        probe.add_row(name, pooling[name], measure, rfm_layer, f"{probes[name]['rfm']:.3f}", linear_layer,
                      f"{probes[name]['linear']:.3f}", f"{probes[name]['rfm'] - probes[name]['linear']:+.3f}")
    out.print(probe)

    steering = Table(title=f"Steering success — {args.samples} pieces per cell, {args.bars} bars")
    for column in ("case", "strength", "moved", "valid", "goal met"):
        steering.add_column(column, justify="left" if column == "case" else "right")
    results: dict[str, list[dict[str, Any]]] = {}
    for label, concept, conditions, sign, target in (case for case in CASES if case[1] in names):
        rows = [steer_case(family, model, found[concept], conditions, sign, s, concept, target, args.samples,
                           args.bars, args.seed) for s in [0.0, *strengths]]
        results[label] = rows
        for row in rows:
            met = row["strength"] > 0 and row["moved"] >= GOAL_MOVED and row["valid"] >= GOAL_VALID
            steering.add_row(label, f"{sign * row['strength']:+g}" if row["strength"] else "0 (unsteered)",
                             f"{100 * row['moved']:.0f}%", f"{100 * row['valid']:.0f}%", "yes" if met else "-")
    out.print(steering)
    for label, rows in results.items():
        ok = any(r["strength"] > 0 and r["moved"] >= GOAL_MOVED and r["valid"] >= GOAL_VALID for r in rows)
        out.print(f"{'[green]✓[/green]' if ok else '[red]✗[/red]'} {label}: >= {GOAL_MOVED:.0%} moved with "
                  f">= {GOAL_VALID:.0%} valid at some strength")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"model": info.name, "probes": probes, "steering": results,
                                         "settings": vars(args) | {"json": str(args.json)}}, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
