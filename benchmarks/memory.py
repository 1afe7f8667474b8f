"""Weight and KV-cache memory of every abc-transformer preset, per precision, from the shapes.

    python benchmarks/memory.py [--batch 1] [--json]

Computed, not measured: each preset is built on PyTorch's `meta` device (no memory is
allocated), its parameters are counted, and the bytes follow from each precision's storage:

- fp32: 4 bytes per parameter; bf16 and fp16: 2;
- int8 (CPU, dynamic quantization): 1 byte per weight of every linear layer plus one fp32
  scale and zero point per layer; embeddings, position tables, norms and biases stay fp32;
- the KV cache of a full context: keys and values (2) x layers x positions x width, for the
  patch decoder over `max_patches` patches and the character decoder over one patch, in
  the precision the model computes in (int8 models compute in fp32).

A tied character head is counted once. What a process really holds adds activations, the
allocator's slack and PyTorch itself; the table is the floor a device must have room for.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
_MIB = 1024 * 1024


def preset_memory(name: str, batch: int = 1) -> dict:
    """Parameters, weight bytes per precision and full-context KV-cache bytes of one preset."""
    import torch
    from torch import nn

    from musegen_plugins.abc_transformer.model import PRESETS, AbcTransformer

    config = PRESETS[name]
    with torch.device("meta"):
        model = AbcTransformer(config)
    parameters = sum(p.numel() for p in model.parameters())
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    linear_weights = sum(m.weight.numel() for m in linear)
    weights = {precision: parameters * size for precision, size in _BYTES.items()}
    weights["int8"] = (parameters - linear_weights) * 4 + linear_weights + len(linear) * 8
    positions = config.char_positions or config.patch_size
    cache_values = 2 * batch * (
        config.patch_layers * config.max_patches * config.patch_hidden
        + config.char_layers * (positions + 1) * config.char_hidden
    )
    cache = {precision: cache_values * size for precision, size in _BYTES.items()}
    cache["int8"] = cache_values * 4
    return {"preset": name, "parameters": parameters, "max_patches": config.max_patches,
            "weights": weights, "cache": cache, "batch": batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1, help="rows of the KV cache (default 1)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    from musegen_plugins.abc_transformer.model import PRESETS

    rows = [preset_memory(name, args.batch) for name in PRESETS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"abc-transformer memory, computed from the shapes (batch {args.batch}, full context)")
    for column in ("preset", "parameters", "patches"):
        table.add_column(column, justify="right" if column != "preset" else "left")
    for precision in ("fp32", "bf16/fp16", "int8"):
        table.add_column(f"weights {precision} MiB", justify="right")
    for precision in ("fp32", "bf16/fp16"):
        table.add_column(f"cache {precision} MiB", justify="right")
    for row in rows:
        weights, cache = row["weights"], row["cache"]
        table.add_row(
            row["preset"], f"{row['parameters'] / 1e6:.1f}M", str(row["max_patches"]),
            *(f"{weights[p] / _MIB:,.1f}" for p in ("fp32", "bf16", "int8")),
            *(f"{cache[p] / _MIB:,.1f}" for p in ("fp32", "bf16")),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
