"""Labelled compound-word pieces for training: from a dataset folder (the corpus rendered to
MIDI) or from a folder of the user's MIDI files.

A dataset folder (``musegen data build``, or anything ``musegen_cli.data.resolve`` builds one
from) keeps its splits and analyzer labels; each record's ABC is rendered to MIDI by the
notation code, so corpus pieces and user MIDI meet the tokenizer the same way. A folder of
``.mid`` files is read as MIDI directly (velocities and timing kept) and labelled by running
the analyzer on the parsed score. Token ids are cached per input file in the user cache, as
rendering thousands of tunes takes minutes (done in worker processes, with a progress bar).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musegen_cli.plugin import UserError, atomic_write, cache_dir, default_workers, map_chunks, read_split

from . import tokens

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
MIDI_SUFFIXES = (".mid", ".midi")
#: Bumped when the tokenizer settings change, so old caches are not reused.
CACHE_VERSION = 2


@dataclass(frozen=True)
class Piece:
    rows: list[list[int]]  # compound-word ids [events][fields]
    quadrant: str | None  # the analyzer's emotion label


@dataclass
class Dataset:
    train: list[Piece]
    valid: list[Piece]
    source: str


def _midi_of_abc(abc: str) -> bytes | None:
    from musegen_cli.plugin import convert

    try:
        (piece,) = convert(abc.encode("utf-8"), "abc", "midi")[:1]
    except UserError:
        return None
    return piece.outputs[0] if piece.error is None and piece.outputs else None


def _rows(midi: bytes | None) -> list[list[int]] | None:
    if midi is None:
        return None
    try:
        rows = tokens.encode_midi(midi)
    except UserError:
        return None
    return rows if any(r[0] == tokens.NOTE for r in rows) else None


def _cached(key: str, make: Callable[[], Any]) -> Any:
    path = cache_dir() / "muser" / f"{key}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    value = make()
    atomic_write(path, json.dumps(value))
    return value


def _file_key(path: Path) -> str:
    stat = path.stat()
    text = f"{CACHE_VERSION}\t{path.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Longer ABC texts are cut to their first lines before rendering: music21 takes minutes over a
#: 70,000-character quartet, and training reads windows of a few hundred events anyway.
MAX_ABC_CHARS = 12_000


def opening(abc: str, limit: int = MAX_ABC_CHARS) -> str:
    """``abc`` cut after its last whole line within ``limit`` characters (whole bars of every
    voice, as the corpus writes each line of interleaved voices as one bar)."""
    return abc if len(abc) <= limit else abc[: abc.rfind("\n", 0, limit) + 1]


def _render_chunk(abcs: list[str]) -> list[list[list[int]] | None]:
    """Compound-word rows of each ABC text (None where it renders to no notes); runs in workers."""
    return [_rows(_midi_of_abc(opening(abc))) for abc in abcs]


def balanced_selection(records: Sequence[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    """``count`` records taken in turn from each emotion quadrant (file order within each), so a
    capped training set still teaches the prior every quadrant; unlabelled records come last."""
    by_quadrant: dict[str | None, list[Mapping[str, Any]]] = {}
    for record in records:
        by_quadrant.setdefault((record.get("labels") or {}).get("quadrant"), []).append(record)
    queues = [by_quadrant.get(q, []) for q in QUADRANTS] + [by_quadrant.get(None, [])]
    chosen: list[Mapping[str, Any]] = []
    for turn in itertools.zip_longest(*queues):
        chosen.extend(r for r in turn if r is not None)
    return chosen[:count]


def _split_records(path: Path, max_pieces: int | None = None) -> list[Piece]:
    """The pieces of a dataset split file (`folder/SPLIT.jsonl`), at most ``max_pieces`` of them
    balanced across quadrants, rendered in worker processes and cached."""
    if not path.is_file():
        return []
    key = _file_key(path) if max_pieces is None else f"{_file_key(path)}-{max_pieces}"

    def make() -> list[dict[str, Any]]:
        records = read_split(path.parent, path.stem)
        if max_pieces is not None:
            records = balanced_selection(records, max_pieces)
        rows = map_chunks(_render_chunk, [r["abc"] for r in records], default_workers(),
                          f"tokenizing {path.name}", chunk=8)
        return [{"rows": r, "quadrant": (record.get("labels") or {}).get("quadrant")}
                for record, r in zip(records, rows) if r is not None]

    return [Piece(r["rows"], r["quadrant"]) for r in _cached(key, make)]


def midi_quadrant(midi: bytes) -> str | None:
    """The analyzer's emotion quadrant of a MIDI file (None when it cannot tell)."""
    from musegen_cli.plugin import analyze_score, parse_score

    try:
        return analyze_score(parse_score(midi, "midi")).quadrant
    except UserError:
        return None


def _midi_piece(path: Path) -> Piece | None:
    def make() -> dict[str, Any] | None:
        data = path.read_bytes()
        rows = _rows(data)
        return None if rows is None else {"rows": rows, "quadrant": midi_quadrant(data)}

    record = _cached(_file_key(path), make)
    return None if record is None else Piece(record["rows"], record["quadrant"])


def midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())


def _is_valid_split(path: Path) -> bool:
    """One file in ten goes to validation, by a hash of its name (stable across runs)."""
    return int(hashlib.sha256(path.name.encode()).hexdigest(), 16) % 10 == 0


def _midi_folder(data: str) -> Path | None:
    """``data`` as a folder of MIDI files, or None when it names a dataset (or builds one)."""
    from musegen_cli.plugin import is_dataset

    path = Path(data).expanduser()
    return path if path.is_dir() and not is_dataset(path) and midi_files(path) else None


def load(data: str, max_pieces: int | None = None) -> Dataset:
    """The training and validation pieces named by ``--data`` (test pieces are never used)."""
    from musegen_cli.plugin import dataset_folder

    if (folder := _midi_folder(data)) is not None:
        files = midi_files(folder)[:max_pieces] if max_pieces else midi_files(folder)
        pieces = [(f, _midi_piece(f)) for f in files]
        train = [p for f, p in pieces if p is not None and not _is_valid_split(f)]
        valid = [p for f, p in pieces if p is not None and _is_valid_split(f)]
        dataset = Dataset(train, valid, f"MIDI folder {folder}")
    else:
        folder = dataset_folder(data)
        train = _split_records(folder / "train.jsonl", max_pieces)
        valid = _split_records(folder / "valid.jsonl")
        dataset = Dataset(train, valid, f"dataset {folder}")
    if not dataset.train:
        raise UserError(f"found no usable training pieces in {data} (MIDI files or a dataset with notes)")
    return dataset


def held_out(data: str) -> Dataset:
    """The validation pieces of ``--data`` only, for measuring a model: a dataset's valid split
    (its training split is not tokenized), or the validation share of a MIDI folder; falls back
    to ``load`` (training pieces) when there are none."""
    from musegen_cli.plugin import dataset_folder

    if (folder := _midi_folder(data)) is not None:
        valid = [p for f in midi_files(folder) if _is_valid_split(f) and (p := _midi_piece(f)) is not None]
        source = f"MIDI folder {folder}"
    else:
        folder = dataset_folder(data)
        valid, source = _split_records(folder / "valid.jsonl"), f"dataset {folder}"
    return Dataset([], valid, source) if valid else load(data)


def quadrant_counts(pieces: Iterable[Piece]) -> Mapping[str, int]:
    counts = {q: 0 for q in QUADRANTS}
    for piece in pieces:
        if piece.quadrant in counts:
            counts[piece.quadrant] += 1
    return counts
