"""Quality of generated pieces per control mode and quadrant: validity, emotion control, copies.

    python benchmarks/generation_quality.py [--model default|PATH] [--per-quadrant 100]
        [--per-mode 25] [--modes All,Emotion,Mode,Pitch,Tempo,None] [--data FOLDER|corpus]
        [--seed 0] [--batch 16] [--bars 0] [--retry-invalid 0] [--device auto] [--prompt-only]
        [--corpus-pieces 400] [--by-itself 8] [--json out.json]

Control modes (EMusicGen's, plus Emotion) turn a requested quadrant into prompt conditions:

    All      emotion + its mode, tempo and register   Q1 major fast high, Q2 minor fast high,
                                                      Q3 minor slow low,  Q4 major slow low
    Emotion  emotion only          (the main rows: --per-quadrant pieces per quadrant)
    Mode     mode only             Pitch  register only     Tempo  tempo only
    None     no conditions         (every other mode: --per-mode pieces per quadrant)

The conditions go through the model as `musegen generate` passes them: for the abc-transformer
that includes its emotion template and header plan (`header_plan`: the quadrant's parts are
added, and mode and tempo are written into `K:` and `Q:`). `--prompt-only` switches those off,
so the rows measure what the model does with the prompt lines alone.

Pieces come from `generate_checked` in batches of `--batch`, as `musegen generate` makes them
(its sampling defaults, bar retries, `--retry-invalid` resampling: 0 by default, as there),
`--bars` bars each (default 0: the model's own length band). Per (mode, quadrant), every
share is over all pieces asked for, so a piece that does not parse counts against all:

    parse      the analyzer reads it (`PieceFeatures.parses`)
    midi       `notation.conversion.convert(abc, "abc", "midi")` succeeds
    ok         parses and exports to MIDI (goal >= 99.5% on the Emotion rows)
    bars       parses, has notes, every bar fits the meter (the analyzer's bar rule alone)
    strict     the strict piece check (`analysis.piece_check`: bars, ABC grammar, title, ...)
    abc2abc, abcm2ps   the field's tools report no error for it (`notation.abc_tools`;
               skipped, with a message, when not installed)
    quadrant   the analyzer's quadrant (`analysis.emotion`) is the one asked for (goal >= 95%)
    mode, tempo, register   the piece's training labels (`analysis.labels`) agree with the quadrant's
               major/minor, fast/slow, high/low (whether or not that part was in the prompt)
    distinct   unique music bodies / pieces
    held       per requested condition, the share of pieces that hold it (`analysis.adherence`)
    (the corpus row's strict share is also given title aside: cleaned datasets drop `T:`)
    closure    the share that close on the tonic triad / on the tonic, against pieces of the
               test split of the comparison dataset (`--corpus-pieces` of them)
    length     bars per piece: 5th, 50th and 95th percentile and maximum, against that split
    like real tunes, by itself   the two tables of `likeness` (its doc): the Emotion rows'
               features against the test split's, by overlapping area; and each condition
               value asked for alone with the header plan off (`--by-itself` pieces each)
    s/piece    generating seconds per piece (each call's time shared by its pieces)
    sim max / sim mean / copies   highest similarity of each piece to any training piece
               (`scoring.similarity`: Jaccard of 8-byte shingles of the whitespace-free body),
               its maximum and mean over the row, and how many are >= 0.9

Comparison set: the training split of `--data` (a dataset folder); without it, the dataset
the model's manifest names (`provenance.data`) when that folder exists here, else the
training split recomputed from music21's folk corpus through `musegen_cli.data` (cleaning and
split only, no labelling: seconds), which is how the bundled model's dataset is built.
`--data corpus` forces the latter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.likeness import by_itself_table, like_real_tunes, show_likeness  # noqa: E402
from musegen_cli.errors import UserError  # noqa: E402

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
#: Quadrant -> (mode, tempo, register) that EMusicGen's "All" control pairs with it.
QUADRANT_PARTS: dict[str, tuple[str, str, str]] = {
    "Q1": ("major", "fast", "high"),
    "Q2": ("minor", "fast", "high"),
    "Q3": ("minor", "slow", "low"),
    "Q4": ("major", "slow", "low"),
}
CONTROL_MODES = ("All", "Emotion", "Mode", "Pitch", "Tempo", "None")
MAIN_MODE = "Emotion"
GOAL_OK = 0.995
GOAL_QUADRANT = 0.95
SAMPLING = {"temperature": 1.0, "top_p": 0.95}
#: Seed stride between (mode, quadrant) cells, so cells never share a batch seed.
CELL_SEED_STRIDE = 10_007

console = Console(stderr=True)
#: Wide enough for the main table when stdout is a file or pipe.
out = Console() if Console().is_terminal else Console(width=150)


def conditions_for(mode: str, quadrant: str) -> dict[str, str]:
    """The prompt conditions of one control mode for one quadrant (module doc)."""
    major_minor, tempo, register = QUADRANT_PARTS[quadrant]
    return {
        "All": {"emotion": quadrant, "mode": major_minor, "tempo": tempo, "register": register},
        "Emotion": {"emotion": quadrant},
        "Mode": {"mode": major_minor},
        "Pitch": {"register": register},
        "Tempo": {"tempo": tempo},
        "None": {},
    }[mode]


@dataclass
class PieceResult:
    mode: str
    quadrant: str
    seed: int
    abc: str
    parses: bool
    midi: bool
    valid: bool
    analyzed_quadrant: str | None
    labels: dict[str, Any]
    bars_ok: bool = False
    reasons: list[str] = field(default_factory=list)
    tools: dict[str, bool | None] = field(default_factory=dict)
    held: dict[str, bool | None] = field(default_factory=dict)
    bars: int | None = None
    closes_triad: bool | None = None
    closes_tonic: bool | None = None
    seconds: float = 0.0
    nearest_id: str | None = None
    similarity: float = 0.0
    features: Any = None  # the analyzer's PieceFeatures

    @property
    def ok(self) -> bool:
        return self.parses and self.midi


@dataclass
class Row:
    mode: str
    quadrant: str
    pieces: list[PieceResult] = field(default_factory=list)

    def share(self, test) -> float | None:
        return sum(1 for p in self.pieces if test(p)) / len(self.pieces) if self.pieces else None

    def summary(self) -> dict[str, Any]:
        from musegen_cli.scoring.similarity import COPY_THRESHOLD, music_body

        parts = ("mode", "tempo_band", "register_band")

        def part_ok(p: PieceResult, index: int) -> bool:
            wanted = QUADRANT_PARTS[p.quadrant][index]
            return p.labels.get(parts[index]) == wanted

        sims = [p.similarity for p in self.pieces]
        return {
            "mode": self.mode,
            "quadrant": self.quadrant,
            "n": len(self.pieces),
            "parse": self.share(lambda p: p.parses),
            "midi": self.share(lambda p: p.midi),
            "ok": self.share(lambda p: p.ok),
            "valid": self.share(lambda p: p.valid),
            "bars_ok": self.share(lambda p: p.bars_ok),
            **{tool: (self.share(lambda p, t=tool: bool(p.tools.get(t)))
                      if self.pieces and all(p.tools.get(tool) is not None for p in self.pieces) else None)
               for tool in ("abc2abc", "abcm2ps")},
            "held": {name: self.share(lambda p, n=name: p.held.get(n) is True)
                     for name in sorted({n for p in self.pieces for n, v in p.held.items() if v is not None})},
            "closes_triad": self.share(lambda p: bool(p.closes_triad)),
            "closes_tonic": self.share(lambda p: bool(p.closes_tonic)),
            "length": percentiles([p.bars for p in self.pieces if p.bars is not None]),
            "seconds_per_piece": percentiles([p.seconds for p in self.pieces], (50,)),
            "quadrant_accuracy": self.share(lambda p: p.analyzed_quadrant == p.quadrant),
            "mode_accuracy": self.share(lambda p: part_ok(p, 0)),
            "tempo_accuracy": self.share(lambda p: part_ok(p, 1)),
            "register_accuracy": self.share(lambda p: part_ok(p, 2)),
            "distinct": len({music_body(p.abc) for p in self.pieces}) / len(self.pieces) if self.pieces else None,
            "similarity_max": max(sims) if sims else None,
            "similarity_mean": sum(sims) / len(sims) if sims else None,
            "copies": sum(1 for s in sims if s >= COPY_THRESHOLD),
        }


def percentiles(values: Sequence[float], points: Sequence[int] = (5, 50, 95, 100)) -> dict[str, float] | None:
    """Nearest-rank percentiles of ``values`` ("p100" is the maximum); None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    return {f"p{q}": ordered[min(len(ordered) - 1, max(0, -(-q * len(ordered) // 100) - 1))] for q in points}


class TimedModel:
    """A loaded model whose `generate` time is added up (the rest of a run is checking);
    `per_piece` holds each call's seconds per piece."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.seconds = 0.0
        self.per_piece: list[float] = []

    def generate(self, request):
        start = time.perf_counter()
        try:
            return self.model.generate(request)
        finally:
            spent = time.perf_counter() - start
            self.seconds += spent
            self.per_piece.append(spent / max(1, request.count))

    def known_conditions(self):
        return self.model.known_conditions()


def exports_midi(abc: str) -> bool:
    from musegen_cli.notation.conversion import convert

    try:
        pieces = convert(abc.encode("utf-8"), "abc", "midi")
    except Exception:  # noqa: BLE001 - any failure to export counts as a failure
        return False
    return len(pieces) == 1 and pieces[0].error is None and bool(pieces[0].outputs)


def reference_pieces(data: str | None, manifest: dict[str, Any]) -> tuple[list[tuple[str, str]], str]:
    """(id, ABC) of the comparison set and where it came from (module doc)."""
    from musegen_cli.scoring.similarity import dataset_pieces

    if data is None:
        named = (manifest.get("provenance") or {}).get("data")
        if named and (Path(named) / "train.jsonl").is_file():
            data = named
    if data is not None and data != "corpus":
        folder = Path(data)
        if not (folder / "train.jsonl").is_file():
            raise UserError(f"{folder} is not a dataset folder (no train.jsonl); build one with `musegen data build`")
        return dataset_pieces(folder), f"{folder} (train split)"
    from musegen_cli.data.build import gather

    tunes, _scores = gather(["corpus:folk"], None)
    pieces = [(r.id, r.abc) for r in tunes if r.split == "train"]
    return pieces, "music21 folk corpus (train split, recomputed)"


def run_cell(model: TimedModel, mode: str, quadrant: str, count: int, batch: int, bars: int | None, seed: int,
             on_piece, tools: Sequence[str] = (), retries: int = 0) -> Row:
    from musegen_cli.analysis.labels import labels_from_features
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.generation import generate_checked
    from musegen_cli.notation.abc_tools import accepted

    row = Row(mode, quadrant)
    conditions = conditions_for(mode, quadrant)
    for number, start in enumerate(range(0, count, batch)):
        request = GenerateRequest(conditions, min(batch, count - start), seed + number, max_bars=bars,
                                  sampling=dict(SAMPLING))
        pieces = generate_checked(model, request, retry_invalid=retries)
        for piece in pieces:
            f = piece.features
            row.pieces.append(PieceResult(
                mode, quadrant, request.seed, piece.abc, bool(f.parses), exports_midi(piece.abc) if f.parses else False,
                piece.valid, f.quadrant, labels_from_features(f),
                bars_ok=bool(f.parses and f.notes and f.bars_off_meter == 0), reasons=list(piece.verdict.reasons),
                tools={tool: accepted(piece.abc, tool) for tool in tools},
                held={r.name: r.held for r in piece.held}, bars=f.bars,
                closes_triad=piece.verdict.closes_on_tonic_triad, closes_tonic=piece.verdict.closes_on_tonic,
                seconds=model.per_piece[-1], features=f,
            ))
            on_piece()
    return row


def corpus_closure(data: str | None, manifest: dict[str, Any], count: int) -> tuple[dict[str, Any] | None, str, list]:
    """Closure, length and strict-check shares of up to ``count`` pieces of the comparison
    dataset's test split (the folk corpus recomputed when no dataset folder is named), and
    their features."""
    from musegen_cli.analysis.features import analyze_abc
    from musegen_cli.analysis.piece_check import check_piece

    named = data if data not in (None, "corpus") else (manifest.get("provenance") or {}).get("data")
    if named and (Path(named) / "test.jsonl").is_file():
        records = [json.loads(line) for line in (Path(named) / "test.jsonl").read_text().splitlines() if line.strip()]
        pieces, source = [r["abc"] for r in records], f"{named} (test split)"
    elif data is None or data == "corpus":
        from musegen_cli.data.build import gather

        tunes, _scores = gather(["corpus:folk"], None)
        pieces, source = [r.abc for r in tunes if r.split == "test"], "music21 folk corpus (test split, recomputed)"
    else:
        return None, f"{data} has no test split (test.jsonl): no corpus comparison", []
    pieces = pieces[:count]
    if not pieces:
        return None, f"{source} is empty", []
    features = [analyze_abc(p) for p in pieces]
    verdicts = [check_piece(p, f) for p, f in zip(pieces, features)]
    n = len(pieces)
    return {
        "n": n,
        "strict": sum(v.valid for v in verdicts) / n,
        # Cleaned datasets drop titles (`data.abc_clean`): the check's other rules, title aside.
        "strict_untitled": sum(set(v.reasons) <= {"no title (T:)"} for v in verdicts) / n,
        "closes_triad": sum(bool(v.closes_on_tonic_triad) for v in verdicts) / n,
        "closes_tonic": sum(bool(v.closes_on_tonic) for v in verdicts) / n,
        "length": percentiles([f.bars for f in features if f.bars is not None]),
    }, source, features


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def show(rows: list[Row], total: dict[str, Any], title: str) -> None:
    table = Table(title=title, show_lines=False)
    for name in ("control", "Q", "n", "parse%", "midi%", "ok%", "valid%", "quad%", "mode%", "tempo%", "reg%",
                 "distinct%", "sim max", "sim mean", "copies"):
        table.add_column(name, justify="left" if name in ("control", "Q") else "right")
    for summary in [r.summary() for r in rows] + [total]:
        table.add_row(
            summary["mode"], summary["quadrant"], str(summary["n"]),
            *(pct(summary[k]) for k in ("parse", "midi", "ok", "valid", "quadrant_accuracy", "mode_accuracy",
                                        "tempo_accuracy", "register_accuracy", "distinct")),
            f"{summary['similarity_max']:.3f}" if summary["similarity_max"] is not None else "-",
            f"{summary['similarity_mean']:.3f}" if summary["similarity_mean"] is not None else "-",
            str(summary["copies"]),
            end_section=summary is not total and summary["quadrant"] == "Q4",
        )
    out.print(table)


def show_checks(rows: list[Row], total: dict[str, Any], corpus: dict[str, Any] | None, tools: Sequence[str]) -> None:
    """The strict check, the field's tools, conditions held, closure, length and speed."""
    table = Table(title="Strict check, tools, conditions, closure, length, speed")
    for name in ("control", "Q", "n", "bars%", "strict%", "abc2abc%", "abcm2ps%", "held", "triad%", "tonic%",
                 "bars p5/p50/p95/max", "s/piece p50"):
        table.add_column(name, justify="left" if name in ("control", "Q", "held") else "right")

    def length(summary: dict[str, Any]) -> str:
        found = summary.get("length")
        return "-" if not found else "/".join(str(found[k]) for k in ("p5", "p50", "p95", "p100"))

    for summary in [r.summary() for r in rows] + [total]:
        held = " ".join(f"{name} {pct(share)}" for name, share in summary["held"].items()) or "-"
        speed = summary["seconds_per_piece"]
        table.add_row(summary["mode"], summary["quadrant"], str(summary["n"]), pct(summary["bars_ok"]),
                      pct(summary["valid"]), *(pct(summary[t]) if t in tools else "skipped" for t in ("abc2abc", "abcm2ps")),
                      held, pct(summary["closes_triad"]), pct(summary["closes_tonic"]), length(summary),
                      "-" if not speed else f"{speed['p50']:.2f}")
    if corpus is not None:
        table.add_row("corpus test split", "-", str(corpus["n"]), "-",
                      f"{pct(corpus['strict'])} ({pct(corpus['strict_untitled'])} title aside)", "-", "-", "-",
                      pct(corpus["closes_triad"]), pct(corpus["closes_tonic"]), length(corpus), "-")
    out.print(table)


def pooled(rows: Sequence[Row], mode: str, quadrant: str) -> dict[str, Any]:
    merged = Row(mode, quadrant, [p for r in rows for p in r.pieces])
    return merged.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="model name or folder (default: default)")
    parser.add_argument("--per-quadrant", type=int, default=100, help="pieces per quadrant, Emotion mode")
    parser.add_argument("--per-mode", type=int, default=25, help="pieces per quadrant, every other mode (0 skips)")
    parser.add_argument("--modes", default=",".join(CONTROL_MODES), help="control modes to run, comma-separated")
    parser.add_argument("--data", default=None, help="dataset folder to compare with, or `corpus` (see doc)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=16, help="pieces per generate call")
    parser.add_argument("--bars", type=int, default=0, help="bars per piece (default 0: the model's own length band)")
    parser.add_argument("--corpus-pieces", type=int, default=400,
                        help="test-split pieces to compare closure, length and likeness with (0 skips)")
    parser.add_argument("--by-itself", type=int, default=8,
                        help="pieces per condition value with the header plan off (0 skips)")
    parser.add_argument("--retry-invalid", type=int, default=0, help="resample a piece that fails its checks up to N times")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    parser.add_argument("--prompt-only", action="store_true",
                        help="condition through prompt lines alone (no emotion template or header plan)")
    parser.add_argument("--json", type=Path, default=None, help="write every number (and each piece) here")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        console.print(f"generation_quality: error: {exc}")
        return 2


def run(args: argparse.Namespace) -> int:
    from musegen_cli.device import resolve_device
    from musegen_cli.model_dir import read_manifest
    from musegen_cli.models import resolve_model
    from musegen_cli.registry import get_registry
    from musegen_cli.scoring.similarity import COPY_THRESHOLD, SimilarityIndex

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in CONTROL_MODES]
    if unknown:
        raise UserError(f"unknown control mode {unknown[0]!r}; choose from {', '.join(CONTROL_MODES)}")
    counts = {m: (args.per_quadrant if m == MAIN_MODE else args.per_mode) for m in modes}
    counts = {m: n for m, n in counts.items() if n > 0}
    if not counts or args.batch < 1 or args.bars < 0:
        raise UserError("nothing to generate: give positive --per-quadrant / --per-mode and --batch, and --bars >= 0")
    from musegen_cli.notation.abc_tools import TOOLS, available

    tools = [tool for tool in TOOLS if available(tool)]
    for tool in TOOLS:
        if tool not in tools:
            console.print(f"{tool} is not installed (Debian: abcmidi, abcm2ps): its acceptance is skipped")

    started = time.perf_counter()
    registry = get_registry()
    try:
        info = resolve_model(args.model, registry)
    except UserError as exc:
        if args.model == "default":
            raise UserError(f"{exc}; until the default model ships, pass --model PATH (a model folder)") from None
        raise
    manifest = read_manifest(info.path)
    family = registry.require("generate", info.family)
    device = resolve_device(args.device)
    loaded = family.sampler.load(info.path, device)
    if args.prompt_only:
        if not hasattr(loaded, "use_template"):
            raise UserError(f"--prompt-only: the {info.family} family has no emotion template to switch off")
        loaded.use_template = False
    model = TimedModel(loaded)
    loaded_s = time.perf_counter() - started

    index_start = time.perf_counter()
    references, source = reference_pieces(args.data, manifest)
    index = SimilarityIndex(references)
    index_s = time.perf_counter() - index_start
    console.print(f"model {info.name} ({info.path}, step {manifest.get('metrics', {}).get('steps', '?')}) on {device}; "
                  f"comparing with {len(index):,} pieces of {source}")

    from musegen_cli.cli.output import progress

    total_pieces = sum(n * len(QUADRANTS) for n in counts.values())
    rows: list[Row] = []
    gen_start = time.perf_counter()
    ticks = iter(progress(range(total_pieces), total=total_pieces, description="generating"))

    def tick() -> None:
        next(ticks, None)

    for mode_number, mode in enumerate(CONTROL_MODES):
        if mode not in counts:
            continue
        for quadrant_number, quadrant in enumerate(QUADRANTS):
            seed = args.seed + CELL_SEED_STRIDE * (len(QUADRANTS) * mode_number + quadrant_number)
            rows.append(run_cell(model, mode, quadrant, counts[mode], args.batch, args.bars or None, seed, tick, tools,
                                 args.retry_invalid))
    for _ in ticks:  # close the progress bar
        pass
    generate_s = time.perf_counter() - gen_start

    sim_start = time.perf_counter()
    for row in rows:
        for piece in row.pieces:
            match = index.nearest(piece.abc)
            piece.nearest_id, piece.similarity = match.id, match.similarity
    similarity_s = time.perf_counter() - sim_start
    wall_s = time.perf_counter() - started

    per_mode = {mode: pooled([r for r in rows if r.mode == mode], mode, "all") for mode in counts}
    total = pooled(rows, "total", "all")
    main = per_mode.get(MAIN_MODE)
    n_pieces = total["n"]
    how = ", prompt lines only" if args.prompt_only else ""
    length = f"{args.bars} bars" if args.bars else "the model's length band"
    show(rows, total, f"Generation quality — {info.name}, {length}, seed {args.seed}{how}")
    corpus, corpus_source, corpus_features = (corpus_closure(args.data, manifest, args.corpus_pieces)
                                              if args.corpus_pieces else (None, "skipped (--corpus-pieces 0)", []))
    console.print(f"closure and length compared with {corpus_source}")
    show_checks(rows, total, corpus, tools)
    likeness = None
    if corpus_features:
        compared = [r for r in rows if r.mode == MAIN_MODE] or rows
        likeness = like_real_tunes([p.features for r in compared for p in r.pieces], corpus_features)
        show_likeness(out, likeness, corpus_source)
    by_itself = (by_itself_table(loaded, out, args.by_itself, args.seed, args.bars or None, args.retry_invalid,
                                 SAMPLING) if args.by_itself else None)

    mode_table = Table(title="Per control mode (all quadrants pooled)")
    for name in ("control", "n", "ok%", "valid%", "quad%", "mode%", "tempo%", "reg%", "EMusicGen acc. (listeners)"):
        mode_table.add_column(name, justify="left" if name == "control" else "right")
    emusicgen = {"All": "82.0", "Pitch": "69.0", "Mode": "65.0", "Tempo": "53.0", "None": "52.0"}
    for mode, s in per_mode.items():
        mode_table.add_row(mode, str(s["n"]), pct(s["ok"]), pct(s["valid"]), pct(s["quadrant_accuracy"]),
                           pct(s["mode_accuracy"]), pct(s["tempo_accuracy"]), pct(s["register_accuracy"]),
                           emusicgen.get(mode, "-"))
    out.print(mode_table)

    goals = []
    if main is not None:
        goals.append(("parse + MIDI export, Emotion rows", main["ok"], GOAL_OK, ">="))
        goals.append(("quadrant accuracy, Emotion rows", main["quadrant_accuracy"], GOAL_QUADRANT, ">="))
    goals.append((f"no copies (similarity >= {COPY_THRESHOLD}), all rows", total["copies"], 0, "=="))
    for name, value, goal, op in goals:
        met = value >= goal if op == ">=" else value == goal
        shown = f"{100 * value:.1f}% (goal >= {100 * goal:.1f}%)" if op == ">=" else f"{value} (goal 0)"
        out.print(f"{'[green]✓[/green]' if met else '[red]✗[/red]'} {name}: {shown}")
    out.print(
        f"{n_pieces} pieces in {wall_s:.1f} s wall ({n_pieces / wall_s:.2f} pieces/s); generating "
        f"{model.seconds:.1f} s ({n_pieces / model.seconds:.2f} pieces/s), checking + MIDI "
        f"{generate_s - model.seconds:.1f} s, similarity index {index_s:.1f} s + queries {similarity_s:.2f} s, "
        f"model load {loaded_s:.1f} s"
    )

    if args.json is not None:
        report = {
            "model": {"name": info.name, "path": str(info.path), "metrics": manifest.get("metrics", {})},
            "device": str(device),
            "settings": {"prompt_only": args.prompt_only, "per_quadrant": args.per_quadrant, "per_mode": args.per_mode,
                         "modes": list(counts), "seed": args.seed, "batch": args.batch, "bars": args.bars,
                         "retry_invalid": args.retry_invalid, "by_itself": args.by_itself, "sampling": SAMPLING},
            "reference": {"source": source, "pieces": len(index), "copy_threshold": COPY_THRESHOLD},
            "corpus": {"source": corpus_source, **(corpus or {})},
            "like_real_tunes": likeness,
            "by_itself": by_itself,
            "tools": tools,
            "rows": [r.summary() for r in rows],
            "per_mode": per_mode,
            "total": total,
            "goals": [{"name": n, "value": v, "goal": g, "met": (v >= g if op == ">=" else v == g)}
                      for n, v, g, op in goals],
            "timing": {"wall_s": wall_s, "generate_s": model.seconds, "check_s": generate_s - model.seconds,
                       "index_s": index_s, "similarity_s": similarity_s, "load_s": loaded_s,
                       "pieces_per_s": n_pieces / wall_s},
            "pieces": [asdict(replace(p, features=None)) | {"features": p.features.to_dict()}
                       for r in rows for p in r.pieces],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
