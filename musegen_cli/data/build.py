"""`musegen data build`: from named sources to a dataset folder, labelled in parallel."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from musegen_cli.data.dataset import Record, records, write_dataset
from musegen_cli.data.labels import label_abc
from musegen_cli.data.sources import FOLK_COLLECTIONS, RawPiece, corpus_folk, user_folder
from musegen_cli.errors import UserError

CORPUS = "corpus"


def pieces_of(source: str) -> Iterator[RawPiece]:
    """`corpus` (every folk collection), `corpus:NAME` (one collection), or a path."""
    if source == CORPUS:
        return corpus_folk()
    if source.startswith(f"{CORPUS}:"):
        name = source.split(":", 1)[1]
        if name not in FOLK_COLLECTIONS:
            raise UserError(f"unknown corpus collection {name!r}; choose one of: {', '.join(FOLK_COLLECTIONS)}")
        return (piece for piece in corpus_folk() if piece.collection == name)
    path = Path(source)
    if not path.exists():
        raise UserError(f"no such file or folder: {path} (or use `corpus` / `corpus:NAME`)")
    return user_folder(path)


def _label_batch(texts: list[str]) -> list[dict[str, Any]]:
    return [label_abc(text) for text in texts]


def build(sources: list[str], out: Path, *, command: str, workers: int = 1, limit: int | None = None) -> dict[str, Any]:
    """Clean and deduplicate every source's tunes, label them (in `workers` processes), write."""
    pieces = itertools.chain.from_iterable(pieces_of(source) for source in sources)
    unlabelled = list(itertools.islice(records(pieces, lambda _text: {}), limit))
    if not unlabelled:
        raise UserError("the sources hold no usable ABC tunes")
    texts = [record.abc for record in unlabelled]
    chunks = [texts[i : i + 64] for i in range(0, len(texts), 64)]
    from musegen_cli.cli.output import progress

    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            labelled = list(progress(pool.map(_label_batch, chunks), total=len(chunks), description="labelling"))
    else:
        labelled = [_label_batch(chunk) for chunk in progress(chunks, total=len(chunks), description="labelling")]
    labels = itertools.chain.from_iterable(labelled)
    final = (
        Record(r.id, r.collection, r.source, r.abc, r.split, {**r.labels, **label})
        for r, label in zip(unlabelled, labels)
    )
    return write_dataset(final, out, command=command)
