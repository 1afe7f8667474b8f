"""Generation speed of the abc-transformer on this CPU, against the CPU's own limits.

    python benchmarks/generation_speed.py [--preset NAME | --hidden 512 --patch-layers 6
        --char-layers 3 --heads 8] [--contexts 64,256,1024] [--batches 1,16]
        [--paths no-cache,fp32,compiled,bf16,int8] [--threads auto|N] [--seconds 1.5] [--quick]

Weights are random (seeded, the same for every row): speed does not depend on what a model
has learned, only on its shape. The default shape is the 30M-parameter one of the issue
(hidden 512, 6 patch + 3 character layers, 8 heads). The grammar mask is changed to forbid
the end patch, so no row stops early and every row writes the same number of patches.

A context of N patches means the prompt fills exactly N patches; the prompt's prefill and
the first two generated patches (the first spelling and the first push, where the compiled
path builds its graphs) are not timed; then whole patches (push + spelling its characters)
are timed through the public ``stream`` API until ``--seconds`` have passed (at least one
patch). Paths: ``no-cache`` is the reference loop (``use_cache=False``: reruns the whole
prefix for every patch and the whole partial patch for every character); ``fp32``, ``bf16``
and ``int8`` use the KV caches, with float32, bfloat16 (``model.to(torch.bfloat16)``) and
int8 dynamically quantized linear layers (``quantize_int8``); ``compiled`` is fp32 with the
characters spelled by the ``torch.compile``'d fixed-shape step and patches pushed by a
compiled step (``static_step``, ``musegen generate --compile``; the compilations fall in the
untimed first patches). ``no-cache``, ``fp32``
and ``compiled`` draw from the same seeded generator and must write the same text; the run
checks it. "x vs no-cache" compares the same patches: the no-cache loop times only a few
patches in ``--seconds``, and its cost is nearly fixed per patch, so its characters/s depends
on how many characters those patches hold; each other row's rate in that ratio is taken over
the same first patches (the chars/s column is over all the patches the row timed).

The two limits, measured in the same run (best of the measurements taken before and after
the rows, since other processes may share the CPU):

* bandwidth bound = B x streaming read rate / (fp32 weight bytes per character + B x KV-cache
  bytes per character), from ``estimate_costs``; the rate is the best of a ``sum`` and a
  matrix-vector product over a float32 buffer as large as the model's weights;
* compute bound = matmul rate / FLOPs per character, the rate from ``torch.mm`` at the
  model's layer sizes with 256 rows.

The same bandwidth bound is also given at the DRAM streaming rate, measured by STREAM's rule
(a buffer at least four times the last-level cache): the rate of a CPU whose cache cannot
hold the weights. Where the weights fit in the cache (45 MB of fp32 per character against
hundreds of MB of L3 on current servers), the first bound is the one that binds.

A third figure says how close eager code can come to the bandwidth bound: the speed of the
weight products alone (``F.linear`` by every matrix, one row at a time, nothing else).

Each row runs in its own process (``--in-process`` runs them here, as ``--quick`` does), so
peak RSS is that of a process holding only that row's weights: the kernel's peak-RSS mark
is reset after the model is built and read after the row.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from musegen_plugins.abc_transformer.model import (  # noqa: E402
    PRESETS,
    AbcTransformer,
    ModelConfig,
    estimate_costs,
    parameter_count,
    quantize_int8,
)
from musegen_cli.notation.abc_patches import END, encode_prompt  # noqa: E402
from musegen_plugins.abc_transformer.sampling import SamplingConfig, stream  # noqa: E402

PATHS = ("no-cache", "fp32", "compiled", "bf16", "int8")
MAX_TIMED_PATCHES = 48
# One bar per patch: 15 characters and EOP; a line's newline joins its last bar (16 characters).
_HEADER = "L:1/8\nM:4/4\nK:D\n"
_BARS = ("DEFG ABcd efga|", "fedc BAGF EDCB|", "B,CD EFGA Bcde|", "cBAG FEDC B,A,|")


@dataclass(frozen=True)
class RowSpec:
    config: dict
    context: int
    batch: int
    path: str
    threads: int
    seconds: float
    seed: int


def model_config(args: argparse.Namespace) -> ModelConfig:
    room = max(args.contexts) + MAX_TIMED_PATCHES + 3
    if args.preset:
        base = PRESETS[args.preset]
    else:
        base = ModelConfig(patch_size=16, patch_hidden=args.hidden, patch_layers=args.patch_layers,
                           patch_heads=args.heads, char_hidden=args.hidden, char_layers=args.char_layers,
                           char_heads=args.heads)
    return replace(base, max_patches=max(base.max_patches, room), dropout=0.0)


def prompt_of(patches: int, patch_size: int) -> str:
    """ABC text that fills exactly ``patches`` patches (begin patch included), ending a line."""
    text, count = "X:1\n", 2
    header = iter(_HEADER.splitlines(keepends=True))
    while count < patches:
        line = next(header, None)
        if line is None:
            bars = [_BARS[(count + i) % 4] for i in range(min(4, patches - count))]
            line = "".join(bars) + "\n"
            count += len(bars)
        else:
            count += 1
        text += line
    encoded, open_chars = encode_prompt(text, patch_size)
    if len(encoded) != patches or open_chars:
        raise AssertionError(f"prompt fills {len(encoded)} patches, not {patches}")
    return text


def build_model(spec: RowSpec) -> torch.nn.Module:
    torch.manual_seed(spec.seed)
    model = AbcTransformer(ModelConfig(**spec.config)).eval()
    model.grammar[0, END] = False  # no row may end: every row writes the same number of patches
    if spec.path == "bf16":
        model = model.to(torch.bfloat16)
    elif spec.path == "int8":
        model = quantize_int8(model)
    return model


def _rss_mb(field: str) -> float:
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def run_row(spec: RowSpec) -> dict:
    """Time one (context, batch, path); returns chars, seconds, patches, peak RSS and the text."""
    torch.set_num_threads(spec.threads)
    model = build_model(spec)
    gc.collect()
    _reset_peak_rss()
    prompt = prompt_of(spec.context, model.config.patch_size)
    generator = torch.Generator().manual_seed(spec.seed)
    sampling = SamplingConfig(max_patches=MAX_TIMED_PATCHES + 2)
    events = stream(model, [prompt] * spec.batch, sampling, generator, use_cache=spec.path != "no-cache",
                    compile_steps=spec.path == "compiled")
    seen, chars, patches, start, untimed = 0, 0, 0, None, 2
    texts: list[str] = []
    marks: list[tuple[int, float]] = []  # (characters, seconds) when each timed patch was done
    for event in events:
        seen += 1
        if event.row == 0:
            texts.append(event.text)
        if start is not None:
            chars += len(event.text)
        if seen % spec.batch:
            continue  # a patch is done when every row has yielded it
        if start is None:
            untimed -= 1
            if not untimed:
                start = time.perf_counter()  # prefill, first spelling and first push done: start the clock
            continue
        patches += 1
        marks.append((chars, time.perf_counter() - start))
        if time.perf_counter() - start >= spec.seconds:
            break
    seconds = time.perf_counter() - start
    events.close()
    return {"chars": chars, "seconds": seconds, "patches": patches, "peak_rss_mb": _rss_mb("VmHWM"),
            "texts": texts, "marks": marks}


def speed_over(row: dict, patches: int) -> float:
    """Characters/s over a row's first ``patches`` timed patches (all it timed, if fewer)."""
    chars, seconds = row["marks"][min(patches, len(row["marks"])) - 1]
    return chars / seconds


def run_row_isolated(spec: RowSpec) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_row", json.dumps(asdict(spec))],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"row {spec.context}/{spec.batch}/{spec.path} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----- the CPU's two limits --------------------------------------------------------------


def bandwidth_bound(read_gbs: float, batch: int, cost) -> float:
    """Characters/s if every byte a step reads (weights once, each row's KV cache) came at
    ``read_gbs``: the bandwidth bound at batch B."""
    return batch * read_gbs * 1e9 / (cost.weight_bytes_per_char + batch * cost.cache_bytes_per_char)


def _best_rate(work: float, fn, reps: int) -> float:
    fn()
    best = 0.0
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = max(best, work / (time.perf_counter() - start))
    return best


def measure_limits(config: ModelConfig, threads: int, reps: int) -> dict:
    """Streaming read rate (GB/s) over a buffer the size of the fp32 weights; matmul GFLOP/s."""
    torch.set_num_threads(threads)
    numel = max(parameter_count(config), 16 << 20) // 1024 * 1024
    buffer = torch.randn(numel)
    matrix, vector = buffer.view(-1, 1024), torch.randn(1024)
    read = max(_best_rate(numel * 4 / 1e9, buffer.sum, reps),
               _best_rate(numel * 4 / 1e9, lambda: torch.mv(matrix, vector), reps))
    del buffer, matrix
    hidden, rows = config.patch_hidden, 256
    x = torch.randn(rows, hidden)
    up, down = torch.randn(hidden, config.mlp_ratio * hidden), torch.randn(config.mlp_ratio * hidden, hidden)
    flops = 2 * 2 * rows * hidden * config.mlp_ratio * hidden
    matmul = _best_rate(flops / 1e9, lambda: torch.mm(torch.mm(x, up), down), reps * 3)
    return {"read_gbs": read, "matmul_gflops": matmul, "read_mb": numel * 4 / 1e6}


def last_level_cache_bytes() -> int | None:
    """Size of this CPU's largest cache (Linux sysfs), or None where it cannot be read."""
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = entry.read_text().strip().upper()
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes) if sizes else None


def measure_dram_read(threads: int, reps: int) -> dict:
    """Streaming read rate (GB/s) by STREAM's rule: over a buffer at least four times the
    last-level cache (at least 1 GiB), so what is timed comes from memory, not from cache."""
    torch.set_num_threads(threads)
    size = max(4 * (last_level_cache_bytes() or 0), 1 << 30)
    numel = size // 4
    buffer = torch.ones(numel)
    rate = _best_rate(numel * 4 / 1e9, buffer.sum, reps)
    del buffer
    return {"dram_read_gbs": rate, "dram_buffer_mb": size / 1e6}


def measure_products_only(config: ModelConfig, threads: int, reps: int) -> float:
    """Characters/s if batch-1 generation did nothing but its weight products: ``F.linear`` of a
    one-row input with every matrix one patch step and its characters' steps read (a patch of
    ``patch_size - 1`` characters). No attention, norms, activations, sampling or Python
    around them: the ceiling for any eager implementation on this CPU."""
    torch.set_num_threads(threads)
    model = AbcTransformer(config).eval()

    def matrices(module: torch.nn.Module) -> list[torch.Tensor]:
        return [m.weight for m in module.modules() if isinstance(m, torch.nn.Linear)]

    patch_weights = matrices(model.patch_decoder)
    char_weights = matrices(model.char_decoder) + [model.head.weight]
    inputs = {w.shape[1]: torch.randn(1, w.shape[1]) for w in patch_weights + char_weights}
    chars = config.patch_size - 1

    def one_patch() -> None:
        for weight in patch_weights:
            F.linear(inputs[weight.shape[1]], weight)
        for _ in range(chars + 1):  # the last step predicts the end of the patch
            for weight in char_weights:
                F.linear(inputs[weight.shape[1]], weight)

    with torch.inference_mode():
        return _best_rate(chars, one_patch, reps)


def pick_threads(config: dict, seed: int, seconds: float) -> tuple[int, dict[int, float]]:
    """Fastest thread count for batch 1 with the fp32 cache (64-patch context)."""
    options = sorted({1, os.cpu_count() or 1})
    speeds = {}
    for threads in options:
        row = run_row_isolated(RowSpec(config, 64, 1, "fp32", threads, seconds, seed))
        speeds[threads] = row["chars"] / row["seconds"]
    return max(speeds, key=speeds.get), speeds


# ----- report ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a named shape instead of the flags below")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--patch-layers", type=int, default=6)
    parser.add_argument("--char-layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--contexts", default="64,256,1024", help="prompt lengths in patches")
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--threads", default="auto", help="torch threads, or 'auto': fastest at batch 1")
    parser.add_argument("--seconds", type=float, default=1.5, help="time per row (at least one patch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--in-process", action="store_true", help="run rows here (peak RSS less exact)")
    parser.add_argument("--quick", action="store_true", help="smoke run: contexts 16,64, short rows, in-process")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--_row", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._row:
        print(json.dumps(run_row(RowSpec(**json.loads(args._row)))))
        return 0
    if args.quick:
        args.in_process, args.seconds = True, min(args.seconds, 0.2)
        if args.contexts == parser.get_default("contexts"):
            args.contexts = "16,64"
        if args.threads == "auto":
            args.threads = "1"
    args.contexts = [int(c) for c in args.contexts.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    paths = [p.strip() for p in args.paths.split(",")]
    if unknown := set(paths) - set(PATHS):
        parser.error(f"unknown paths {sorted(unknown)}; choose from {', '.join(PATHS)}")
    config = model_config(args)
    run = run_row if args.in_process else run_row_isolated

    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=args.json, width=None if sys.stdout.isatty() else 130)
    begun = time.perf_counter()
    if args.threads == "auto":
        threads, probe = pick_threads(asdict(config), args.seed, 0.75)
        thread_note = f"{threads} (auto: " + ", ".join(f"{t} thread(s) {s:.0f} chars/s" for t, s in probe.items()) + ")"
    else:
        threads, thread_note = int(args.threads), args.threads
    reps = 2 if args.quick else 5
    limits = [measure_limits(config, threads, reps)]

    results = []
    with console.status("") as status:
        for context in args.contexts:
            for batch in batches:
                for path in paths:
                    status.update(f"context {context}, batch {batch}, {path} ...")
                    spec = RowSpec(asdict(config), context, batch, path, threads, args.seconds, args.seed)
                    results.append((spec, run(spec)))
    limits.append(measure_limits(config, threads, reps))
    dram = measure_dram_read(threads, 2 if args.quick else 3)
    products_only = measure_products_only(config, threads, reps)
    read = max(m["read_gbs"] for m in limits)
    matmul = max(m["matmul_gflops"] for m in limits)

    rows = []
    for spec, r in results:
        per_patch = r["chars"] / (r["patches"] * spec.batch)
        cost = estimate_costs(config, spec.context, chars_per_patch=per_patch)
        compute_bound = matmul * 1e9 / cost.flops_per_char
        speed = r["chars"] / r["seconds"]
        rows.append({"context": spec.context, "batch": spec.batch, "path": spec.path, "chars_per_s": speed,
                     "chars": r["chars"], "seconds": r["seconds"], "chars_per_patch": per_patch,
                     "bandwidth_bound": bandwidth_bound(read, spec.batch, cost), "compute_bound": compute_bound,
                     "weights_only_bound": read * 1e9 / cost.weight_bytes_per_char,
                     "dram_bandwidth_bound": bandwidth_bound(dram["dram_read_gbs"], spec.batch, cost),
                     "peak_rss_mb": r["peak_rss_mb"], "texts": r["texts"], "marks": r["marks"]})
    for row in rows:
        base = next((o for o in rows if o["path"] == "no-cache" and o["context"] == row["context"]
                     and o["batch"] == row["batch"]), None)
        row["vs_no_cache"] = speed_over(row, len(base["marks"])) / base["chars_per_s"] if base else None
        if base and row["path"] in ("fp32", "compiled"):
            n = min(len(base["texts"]), len(row["texts"]))
            row["same_text"] = base["texts"][:n] == row["texts"][:n]
    elapsed = time.perf_counter() - begun

    if args.json:
        print(json.dumps({"config": asdict(config), "threads": threads, "limits": limits, "dram": dram,
                          "products_only_chars_per_s": products_only, "rows": [
            {k: v for k, v in row.items() if k not in ("texts", "marks")} for row in rows]}, indent=2))
        return 0
    cost64 = estimate_costs(config, args.contexts[0])
    table = Table(title=(
        f"abc-transformer generation speed: {parameter_count(config) / 1e6:.1f}M params (random weights), hidden "
        f"{config.patch_hidden}, {config.patch_layers} patch + {config.char_layers} char layers, "
        f"torch {torch.__version__}, threads {thread_note}"))
    for name in ("context", "batch", "path", "chars/s", "x vs no-cache", "% fp32 BW bound",
                 "% DRAM BW bound", "% compute bound", "peak RSS MB"):
        table.add_column(name, justify="left" if name == "path" else "right")
    last = None
    for row in rows:
        if last is not None and (row["context"], row["batch"]) != last:
            table.add_section()
        last = (row["context"], row["batch"])
        ratio = "" if row["vs_no_cache"] is None else f"{row['vs_no_cache']:.1f}x"
        table.add_row(str(row["context"]), str(row["batch"]),
                      "no-cache" if row["path"] == "no-cache" else f"cache {row['path']}",
                      f"{row['chars_per_s']:,.0f}", ratio,
                      f"{100 * row['chars_per_s'] / row['bandwidth_bound']:.0f}%",
                      f"{100 * row['chars_per_s'] / row['dram_bandwidth_bound']:.0f}%",
                      f"{100 * row['chars_per_s'] / row['compute_bound']:.1f}%", f"{row['peak_rss_mb']:,.0f}")
    console.print(table)
    reads = ", ".join(f"{m['read_gbs']:.1f}" for m in limits)
    matmuls = ", ".join(f"{m['matmul_gflops']:.0f}" for m in limits)
    console.print(
        f"Limits (best of {len(limits)} measurements, {threads} thread(s)): streaming read "
        f"{read:.1f} GB/s over {limits[0]['read_mb']:.0f} MB ({reads}), "
        f"matmul {matmul:.0f} GFLOP/s ({matmuls}).")
    console.print(
        f"Per character at {args.contexts[0]} patches ({cost64.weight_bytes_per_char / 1e6:.1f} MB fp32 weights, "
        f"{cost64.cache_bytes_per_char / 1e6:.2f} MB KV cache, {cost64.flops_per_char / 1e6:.1f} MFLOP): "
        f"bandwidth bound {read * 1e9 / cost64.weight_bytes_per_char:,.0f} chars/s, "
        f"compute bound {matmul * 1e9 / cost64.flops_per_char:,.0f} chars/s. Bandwidth bound at batch B = "
        "B x read rate / (weight bytes + B x KV-cache bytes) per character; compute bound = matmul rate / FLOPs.")
    console.print(
        f"DRAM streaming read (STREAM's rule: a {dram['dram_buffer_mb']:,.0f} MB buffer, at least 4x the "
        f"last-level cache): {dram['dram_read_gbs']:.1f} GB/s, a bound of "
        f"{dram['dram_read_gbs'] * 1e9 / cost64.weight_bytes_per_char:,.0f} chars/s at batch 1. Where the weights "
        "fit in the cache, as here, they are read at the cache rate: the fp32 BW bound above is the tighter one.")
    bound64 = read * 1e9 / cost64.weight_bytes_per_char  # the same patch of patch_size - 1 characters
    console.print(
        f"Weight products alone (F.linear of one row by every matrix a patch and its characters read, nothing "
        f"else): {products_only:,.0f} chars/s = {100 * products_only / bound64:.0f}% of the fp32 bandwidth bound "
        "at batch 1; no eager batch-1 path can be faster than this.")
    same = [row["same_text"] for row in rows if "same_text" in row]
    if same:
        console.print("cache fp32, compiled and no-cache wrote the same text: " + ("yes" if all(same) else "NO"))
    console.print(f"{sum(r['chars'] for r in rows):,} characters timed; run took {elapsed:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
