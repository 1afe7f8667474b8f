"""Sampling speed of an imported NotaGen model: musegen's KV-cached sampler against the loop
NotaGen's own inference runs, with the same weights, side by side.

    python benchmarks/imported_speed.py [--preset notagen-small|notagen-medium|notagen-large|tiny]
        [--contexts 64,256,1024] [--batches 1,16] [--patches 8] [--source-patches 2] [--threads N]
        [--quick]

The weights are random (seeded): transformers' GPT-2 classes in NotaGen's composition
(``tests/plugins/abc_transformer/source_reference.py``), imported through the same
conversion as ``musegen models import``. The source's loop is what its inference does
for every patch: the whole patch prefix through the patch decoder (one-hot patches through
the linear embedding), then for each of the 16 characters the whole partial patch through
the character decoder, the probabilities copied to the host and sampled there (top-k 9,
top-p 0.9, temperature 1.2 in NumPy), all 16 characters sampled even after the patch has
closed. musegen's side is ``sampling.stream`` on the imported model with the same settings:
one prefill, then one cached step per patch and per character, stopping a patch at its
closing id. Both start from the same prompt of N patches (NotaGen's interleaved text); a
row's rate is the characters it wrote (up to each patch's closing id) per second; musegen's
prefill and first patch (of every row), paid once per piece, are left out of its rate. At
batch B musegen writes B pieces at once and its rate is all rows' characters per second;
the source's inference writes one piece at a time, so its rate at any batch is its batch-1
rate, and ``x`` is musegen's rate over it, measured in the same run. Float32, on the CPU.

The bounds are ``generation_speed``'s, measured in the same run (best of before and after the
rows): the bandwidth bound (B x streaming read rate / (weight bytes + B x KV-cache bytes) per
character) and the compute bound (matmul rate / FLOPs per character), from
``estimate_costs`` at the row's context and the characters per patch the row wrote.

On a CPU that other processes share, give ``--threads 1``: with as many threads as busy
cores, every small operation waits for a thread the scheduler has put aside (seen here on 2
cores shared with a training job, notagen-small at batch 1 and 64 patches: musegen wrote 15.8
characters/s on 2 threads, 33.9 on 1, and the source loop 2.1 and 7.8).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import torch
from musegen_plugins.abc_transformer.checkpoint_import import convert
from musegen_plugins.abc_transformer.model import AbcTransformer, ModelConfig, estimate_costs
from musegen_plugins.abc_transformer.notagen_format import NotaGenFormat
from musegen_plugins.abc_transformer.sampling import SamplingConfig, stream

from benchmarks.generation_speed import bandwidth_bound, measure_limits
from tests.plugins.abc_transformer import source_reference as ref

SHAPES = {  # NotaGen's published shapes (its README), and a tiny one for the smoke test
    "notagen-small": ref.Shape(16, 768, 12, 3, 2048),
    "notagen-medium": ref.Shape(16, 1024, 16, 3, 2048),
    "notagen-large": ref.Shape(16, 1280, 20, 6, 1024),
    "tiny": ref.Shape(16, 64, 2, 1, 1100),
}
TOP_K, TOP_P, TEMPERATURE = 9, 0.9, 1.2


def prompt_text(patches: int) -> str:
    """NotaGen text whose prompt encoding fills about ``patches`` patches."""
    fmt, lines = NotaGenFormat(), ["%%score { 1 }\n", "L:1/8\n", "M:4/4\n", "K:G\n", "V:1 treble\n"]
    i = 0
    while len(fmt.encode_prompt("".join(lines), 16)[0]) < patches:
        lines.append(f"[r:{i}/64][V:1]GABc d2 B2|\n")
        i += 1
    return "".join(lines)


def host_sample(probs: np.ndarray, rng: np.random.Generator) -> int:
    """Top-k, then top-p, then temperature on the host, as NotaGen's sampler does."""
    probs = probs.astype(np.float64)
    order = np.argsort(probs)[::-1]
    keep = np.zeros_like(probs, dtype=bool)
    keep[order[:TOP_K]] = True
    probs = np.where(keep, probs, 0.0) / probs[keep].sum()
    sorted_probs = np.sort(probs)[::-1]
    drop_sorted = np.concatenate(([False], np.cumsum(sorted_probs)[:-1] > TOP_P))
    probs[np.argsort(probs)[::-1][drop_sorted]] = 0.0
    probs = probs / probs.sum()
    tempered = np.where(probs > 0, probs ** (1 / TEMPERATURE), 0.0)
    return int(rng.choice(len(probs), p=tempered / tempered.sum()))


@torch.inference_mode()
def source_loop(model: torch.nn.Module, prompt: list[list[int]], patches: int, seed: int) -> tuple[int, float]:
    """(characters written, seconds) of NotaGen's uncached loop over ``patches`` patches."""
    rng, context, chars = np.random.default_rng(seed), [list(p) for p in prompt], 0
    start = time.perf_counter()
    for _ in range(patches):
        ids = torch.tensor(context)
        one_hot = torch.nn.functional.one_hot(ids, 128).float().reshape(1, len(context), -1)
        decoder = model.patch_level_decoder
        state = decoder.base(inputs_embeds=decoder.patch_embedding(one_hot)).last_hidden_state[0, -1]
        char_model, written = model.char_level_decoder.base, []
        for _ in range(16):
            tokens = char_model.transformer.wte(torch.tensor([1] + written))
            embeds = torch.cat((state[None], tokens[1:]), dim=0)[None]
            probs = char_model(inputs_embeds=embeds).logits[0, -1].softmax(-1).numpy()
            written.append(host_sample(probs, rng))
        closed = written.index(2) + 1 if 2 in written else 16
        chars += closed - 1 if 2 in written else 16
        context.append(written[:closed] + [0] * (16 - closed))
    return chars, time.perf_counter() - start


def musegen_rate(model: AbcTransformer, prompt: str, patches: int, seed: int, batch: int = 1) -> tuple[int, int, float]:
    """(characters, patches, seconds) of ``batch`` rows of the cached sampler."""
    config = SamplingConfig(temperature=TEMPERATURE, top_k=TOP_K, top_p=TOP_P, max_patches=patches, filter_order="kpt")
    events = stream(model, [prompt] * batch, config, torch.Generator().manual_seed(seed))
    for _ in range(batch):  # the prefill and every row's first patch: once per piece, not per patch
        next(events)
    start, chars, written = time.perf_counter(), 0, 0
    for event in events:
        chars += len(event.text)
        written += 1
    return chars, written, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="notagen-small", choices=sorted(SHAPES))
    parser.add_argument("--contexts", default="64,256,1024")
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--patches", type=int, default=8, help="patches musegen writes per row")
    parser.add_argument("--source-patches", type=int, default=2, help="patches the source loop writes per row")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny shape, short contexts (smoke test)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    preset, contexts = ("tiny", [16, 64]) if args.quick else (args.preset, [int(c) for c in args.contexts.split(",")])
    batches = [int(b) for b in args.batches.split(",")]
    shape = SHAPES[preset]
    source = ref.build("notagen", shape)
    config, state = convert({"model": source.state_dict()}, "notagen")
    model = AbcTransformer(ModelConfig(**config))
    model.load_saved_state(state)
    model.eval()
    fmt, threads = NotaGenFormat(), torch.get_num_threads()
    limits = [measure_limits(model.config, threads, reps=3)]
    warm = prompt_text(8)  # first calls pay one-off setup on both sides: not timed
    source_loop(source, fmt.encode_prompt(warm, shape.patch_size)[0], 1, seed=0)
    musegen_rate(model, warm, 1, seed=0)
    rows = []
    for context in contexts:
        text = prompt_text(context)
        patches, _ = fmt.encode_prompt(text, shape.patch_size)
        chars, seconds = source_loop(source, patches, args.source_patches, seed=1)
        theirs = chars / seconds
        for batch in batches:
            chars, written, seconds = musegen_rate(model, text, args.patches, seed=1, batch=batch)
            cost = estimate_costs(model.config, len(patches), chars_per_patch=max(chars / max(written, 1), 1.0))
            rows.append((len(patches), batch, theirs, chars / seconds, cost))
    limits.append(measure_limits(model.config, threads, reps=3))
    read, matmul = max(m["read_gbs"] for m in limits), max(m["matmul_gflops"] for m in limits)
    print(
        f"{preset}: {sum(t.numel() for t in state.values()) / 1e6:.0f}M parameters, {threads} threads, fp32, CPU; "
        f"read {read:.1f} GB/s, matmul {matmul:.0f} GFLOP/s"
    )
    print(
        f"{'context':>8} {'batch':>6} {'source chars/s':>15} {'musegen chars/s':>16} {'x':>7} "
        f"{'% BW bound':>11} {'% compute bound':>16}"
    )
    for context, batch, theirs, ours, cost in rows:
        bandwidth, compute = bandwidth_bound(read, batch, cost), matmul * 1e9 / cost.flops_per_char
        print(
            f"{context:>8} {batch:>6} {theirs:>15.1f} {ours:>16.1f} {ours / theirs:>6.1f}x "
            f"{100 * ours / bandwidth:>10.0f}% {100 * ours / compute:>15.1f}%"
        )


if __name__ == "__main__":
    main()
