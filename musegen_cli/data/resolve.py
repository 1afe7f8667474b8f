"""Turning a trainer's `--data` into a dataset folder, building and caching it when needed.

`--data` may name a dataset folder (made by `musegen data build`), `corpus` / `corpus:NAME`,
or a file or folder of music. Anything but a dataset folder is built once into the cache
(cleaned, deduplicated, labelled, split exactly as `musegen data build` does) and reused while
its inputs are unchanged, so every family trains on the same labels and splits.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from musegen_cli import __version__, paths
from musegen_cli.data.build import build

MANIFEST = "manifest.json"


def is_dataset(path: Path) -> bool:
    return path.is_dir() and (path / "train.jsonl").is_file()


def _cache_key(spec: str) -> str:
    """Changes when musegen or the inputs change (file names, sizes and times)."""
    digest = hashlib.sha256(f"{__version__}\n{spec}".encode())
    path = Path(spec).expanduser()
    if path.exists():
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            stat = file.stat()
            digest.update(f"{file.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def dataset_folder(spec: str, *, workers: int = 1) -> Path:
    """A dataset folder for `spec`, built into the cache on first use."""
    path = Path(spec).expanduser()
    if is_dataset(path):
        return path
    out = _cache_path(spec)
    if not (out / MANIFEST).is_file():  # the manifest is written last: its presence means complete
        build([spec], out, command=f"musegen data build {spec} -o {out}", workers=workers)
    return out


def cached_folder(spec: str) -> Path | None:
    """The dataset `dataset_folder(spec)` built into the cache, if it did and the inputs are
    unchanged since; nothing is built here."""
    out = _cache_path(spec)
    return out if (out / MANIFEST).is_file() else None


def _cache_path(spec: str) -> Path:
    return paths.cache_dir() / "datasets" / _cache_key(spec)
