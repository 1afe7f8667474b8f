"""MusicGen speed and audio measurements on the real small model, when its weights are local.

    python benchmarks/musicgen.py [--source facebook/musicgen-small] [--duration 4] [--device auto]

Runs only from local files (a model directory or the Hugging Face cache); without them it
prints that it skipped, and why, and exits 0. Prints a table: seconds to load, seconds per
generated second of audio, artifact penalty, tempo and notes of each clip.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def run(source: str, duration: float, device: str, count: int = 2) -> list[str]:
    """The table's lines, or one line saying the benchmark skipped."""
    from musegen_plugins.musicgen.weights import cached_snapshot, write_manifest

    folder = Path(source)
    if not (folder / "config.json").is_file() and cached_snapshot(source) is None:
        return [f"skipped: no local weights for {source} (neither a folder nor in the Hugging Face cache); "
                f"fetch them with `hf download {source}` to run this benchmark"]
    import torch

    from musegen_cli.analysis.audio import measure
    from musegen_cli.analysis.wav import read_wav
    from musegen_cli.contract import GenerateRequest
    from musegen_plugins.musicgen.inference import load

    chosen = "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = folder if (folder / "musegen.json").is_file() else write_manifest(Path(tmp), source)
        start = time.perf_counter()
        model = load(model_dir, chosen)
        loaded = time.perf_counter() - start
        request = GenerateRequest({"text": "lofi piano, slow and calm"}, count, 1, sampling={"duration": duration})
        start = time.perf_counter()
        clips = model.generate(request)
        took = time.perf_counter() - start
    lines = [f"{source} on {chosen}: load {loaded:.1f} s, {took / (duration * count):.2f} s per second of audio "
             f"({count} x {duration:g} s)", "clip  artifacts  tempo  notes"]
    for index, data in enumerate(clips, start=1):
        m = measure(*read_wav(data))
        lines.append(f"{index:>4}  {m['artifacts']['penalty']:9.3f}  {m['tempo_bpm'] or '-':>5}  {m['notes']:>5}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="facebook/musicgen-small", help="hub id (cache) or local folder")
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    print("\n".join(run(args.source, args.duration, args.device)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
