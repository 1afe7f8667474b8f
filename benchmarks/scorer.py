"""How good the scorer is: text->music retrieval, emotion classifier, reference AUC, speed.

    python benchmarks/scorer.py --data DATASET [--scorer default|PATH] [--pieces 500]
        [--generated 64] [--generator default|PATH] [--min-collection 20] [--threads 2] [--seed 0]
        [--json out.json]

All measured on the dataset's held-out test split (pieces the scorer never trained on):

- retrieval: each of `--pieces` test pieces is described (`descriptions.describe`, every
  phrase); for each description the pieces are ranked by cosine. top-k = the described piece
  is among the first k (chance k / pieces); `same description` = the first piece has exactly
  the query's description (many pieces share one, so this is what a user searching by
  description gets). Goal: top-5 >= 5x chance.
- emotion: the classifier's quadrant against the analyzer's rule (the dataset's labels) on
  every labelled test piece (goal >= 90%), with the balanced accuracy and the majority
  baseline; and on `--generated` pieces from the generator (a quarter asked for each
  quadrant), how often classifier and analyzer agree.
- reference AUC: for each collection with at least `--min-collection` test pieces, the reference set is its
  training pieces; the score (cosine to the set's mean) must rank its test pieces above the
  test pieces of every other collection. AUC per collection (goal >= 0.9).
- speed: pieces/s embedding `--pieces` test pieces with `--threads` threads, best of two.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from musegen_cli.errors import UserError  # noqa: E402

GOAL_TOP5_OVER_CHANCE = 5.0
GOAL_EMOTION = 0.90
GOAL_AUC = 0.90
GOAL_PIECES_PER_S = 50.0
MAX_REFERENCE = 2000
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")

console = Console(stderr=True)
out = Console() if Console().is_terminal else Console(width=150)


def auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    import torch

    pos, neg = torch.tensor(positives), torch.tensor(negatives)
    greater = (pos[:, None] > neg[None, :]).float().mean()
    ties = (pos[:, None] == neg[None, :]).float().mean()
    return float(greater + 0.5 * ties)


def retrieval(scorer: Any, records: list[dict], count: int, seed: int) -> dict[str, Any]:
    from musegen_cli.scoring.descriptions import describe
    from musegen_cli.scoring.encoder_training import retrieval_ranks

    chosen = random.Random(seed).sample(records, min(count, len(records)))
    texts = [describe(r) for r in chosen]
    music = scorer.embed_pieces([r["abc"] for r in chosen])
    ranks = retrieval_ranks(scorer.embed_texts(texts), music)
    first = (scorer.embed_texts(texts) @ music.T).argmax(1).tolist()
    n = len(chosen)
    return {
        "pieces": n,
        "top1": float((ranks < 1).float().mean()),
        "top5": float((ranks < 5).float().mean()),
        "chance_top1": 1 / n,
        "chance_top5": min(1.0, 5 / n),
        "same_description_top1": sum(texts[j] == texts[i] for i, j in enumerate(first)) / n,
        "chance_same_description": sum(texts.count(t) for t in texts) / n / n,
    }


def emotion_on_records(scorer: Any, records: list[dict]) -> dict[str, Any]:
    from musegen_cli.scoring.encoder_training import emotion_metrics

    labelled = [r for r in records if (r.get("labels") or {}).get("quadrant") in QUADRANTS]
    embeddings = scorer.embed_pieces([r["abc"] for r in labelled])
    figures = emotion_metrics(scorer, embeddings, [r["labels"]["quadrant"] for r in labelled])
    return {"pieces": len(labelled), **figures}


def emotion_on_generated(scorer: Any, generator: str, count: int, seed: int) -> dict[str, Any]:
    """Generate pieces (a quarter per quadrant) and compare classifier and analyzer."""
    from musegen_cli.analysis.features import analyze_abc
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.models import resolve_model
    from musegen_cli.registry import get_registry

    registry = get_registry()
    info = resolve_model(generator, registry)
    model = registry.require("generate", info.family).sampler.load(info.path, "cpu")
    pieces: list[str] = []
    for n, quadrant in enumerate(QUADRANTS):
        request = GenerateRequest(conditions={"emotion": quadrant}, count=max(1, count // 4), seed=seed + n,
                                  max_bars=16, sampling={"temperature": 1.0, "top_p": 0.95})
        pieces += model.generate(request)
    analyzed = [analyze_abc(p).quadrant for p in pieces]
    kept = [(p, q) for p, q in zip(pieces, analyzed) if q in QUADRANTS]
    if not kept:
        return {"pieces": len(pieces), "analyzed": 0}
    probs = scorer.emotion_probs(scorer.embed_pieces([p for p, _ in kept]))
    predicted = [QUADRANTS[i] for i in probs.argmax(1).tolist()]
    agree = sum(p == q for p, (_, q) in zip(predicted, kept))
    return {"pieces": len(pieces), "analyzed": len(kept), "agreement": agree / len(kept), "model": info.name}


def reference_auc(scorer: Any, train: list[dict], test: list[dict], seed: int, smallest: int) -> list[dict[str, Any]]:
    from musegen_cli.scoring.reference import embed_reference, reference_scores

    collections = sorted({r["collection"] for r in test})
    test_embeddings = scorer.embed_pieces([r["abc"] for r in test])
    rows = []
    for name in collections:
        positives = [i for i, r in enumerate(test) if r["collection"] == name]
        if len(positives) < smallest or not any(r["collection"] == name for r in train):
            continue
        members = [r for r in train if r["collection"] == name]
        members = random.Random(seed).sample(members, min(MAX_REFERENCE, len(members)))
        reference = embed_reference([(r["id"], r["abc"]) for r in members], scorer, name)
        scores = reference_scores(test_embeddings, reference).tolist()
        negatives = [i for i in range(len(test)) if test[i]["collection"] != name]
        rows.append({"collection": name, "reference_pieces": len(members), "positives": len(positives),
                     "negatives": len(negatives),
                     "auc": auc([scores[i] for i in positives], [scores[i] for i in negatives])})
    return rows


def speed(scorer: Any, records: list[dict], count: int, threads: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    texts = [r["abc"] for r in records[:count]]
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        scorer.embed_pieces(texts)
        best = min(best, time.perf_counter() - start)
    return {"pieces": len(texts), "threads": threads, "seconds": best, "pieces_per_s": len(texts) / best}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="dataset folder (musegen data build)")
    parser.add_argument("--scorer", default="default", help="scorer folder, or `default` (the bundled one)")
    parser.add_argument("--pieces", type=int, default=500, help="test pieces for retrieval and speed")
    parser.add_argument("--generated", type=int, default=64, help="generated pieces for the agreement check (0 skips)")
    parser.add_argument("--generator", default="default", help="generator model for --generated")
    parser.add_argument("--min-collection", type=int, default=20, help="test pieces a collection needs for its AUC")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write every number here")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        console.print(f"scorer: error: {exc}")
        return 2


def run(args: argparse.Namespace) -> int:
    import torch

    from musegen_cli.data.dataset import read_split
    from musegen_cli.scoring.scorer import load_scorer

    torch.set_num_threads(args.threads)
    folder = Path(args.data)
    train, test = read_split(folder, "train"), read_split(folder, "test")
    if not test:
        raise UserError(f"{folder} has no test split (test.jsonl); build one with `musegen data build`")
    scorer = load_scorer(None if args.scorer == "default" else args.scorer)
    console.print(f"scorer {args.scorer} (version {scorer.version}); {len(train):,} train and {len(test):,} test pieces")

    found = retrieval(scorer, test, args.pieces, args.seed)
    emotion = emotion_on_records(scorer, test)
    generated = emotion_on_generated(scorer, args.generator, args.generated, args.seed) if args.generated else None
    aucs = reference_auc(scorer, train, test, args.seed, args.min_collection)
    rate = speed(scorer, test, args.pieces, args.threads)

    table = Table(title=f"Scorer — {args.scorer} ({scorer.version}) on {folder} test split")
    for name in ("measure", "value", "baseline", "goal", "met"):
        table.add_column(name, justify="left" if name == "measure" else "right")
    goals: list[tuple[str, bool]] = []

    def row(measure: str, value: str, baseline: str, goal: str, met: bool | None) -> None:
        table.add_row(measure, value, baseline, goal, "-" if met is None else ("yes" if met else "[red]no[/red]"))
        if met is not None:
            goals.append((measure, met))

    n = found["pieces"]
    row(f"text->music top-1 ({n} pieces)", f"{found['top1']:.3f}", f"{found['chance_top1']:.3f} chance", "", None)
    ratio = found["top5"] / found["chance_top5"]
    row(f"text->music top-5 ({n} pieces)", f"{found['top5']:.3f} ({ratio:.1f}x)", f"{found['chance_top5']:.3f} chance",
        f">= {GOAL_TOP5_OVER_CHANCE:.0f}x chance", ratio >= GOAL_TOP5_OVER_CHANCE)
    row("text->music: first piece has the same description", f"{found['same_description_top1']:.3f}",
        f"{found['chance_same_description']:.3f} chance", "", None)
    row(f"emotion vs analyzer, test ({emotion['pieces']} pieces)", f"{emotion['emotion_accuracy']:.3f}",
        f"{emotion['emotion_majority_baseline']:.3f} majority", f">= {GOAL_EMOTION:.2f}",
        emotion["emotion_accuracy"] >= GOAL_EMOTION)
    row("emotion balanced accuracy, test", f"{emotion['emotion_balanced_accuracy']:.3f}", "0.250 chance", "", None)
    if generated and generated.get("analyzed"):
        row(f"emotion agrees with analyzer, generated ({generated['analyzed']} of {generated['pieces']})",
            f"{generated['agreement']:.3f}", "", "", None)
    for item in aucs:
        row(f"reference AUC: {item['collection']} ({item['positives']} vs {item['negatives']})", f"{item['auc']:.3f}",
            "0.500 chance", f">= {GOAL_AUC:.2f}", item["auc"] >= GOAL_AUC)
    row(f"speed, {rate['threads']} threads ({rate['pieces']} pieces)", f"{rate['pieces_per_s']:.0f} pieces/s", "",
        f">= {GOAL_PIECES_PER_S:.0f}", rate["pieces_per_s"] >= GOAL_PIECES_PER_S)
    out.print(table)
    met = sum(ok for _, ok in goals)
    out.print(f"{met} of {len(goals)} goals met")

    if args.json is not None:
        report = {"scorer": args.scorer, "version": scorer.version, "data": str(folder), "retrieval": found,
                  "emotion": emotion, "generated": generated, "reference_auc": aucs, "speed": rate,
                  "goals": [{"measure": m, "met": ok} for m, ok in goals]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
