"""`musegen data build`: from named sources to a dataset folder, converted and labelled in parallel.

Steps: gather ABC tunes (cleaned, deduplicated by their notes) and score files; convert the
scores to interleaved ABC in worker processes (a score that cannot be read is counted in the
manifest, never fatal); label every piece with the analyzer; optionally augment the training
split (`balance`: parallel-minor copies of major tunes; `transpose`: transposed copies); write
the splits and the manifest.

Augmented copies are made only from training pieces and always land in train, so nothing
derived from a validation or test piece is ever trained on. Each copy is labelled by running
the analyzer on its own text, never by assumption, keeps its parent's id in `derived_from`
and says how it was made in `augmentation` ("parallel_minor", "transpose:+3").
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from musegen_cli.analysis.labels import label_abc
from musegen_cli.data.abc_clean import body_fingerprint, clean_abc_tune, keyed_fingerprint
from musegen_cli.data.dataset import Record, abc_tunes_of, split_of, write_dataset
from musegen_cli.data.sources import (
    COMPOSERS,
    FOLK_COLLECTIONS,
    RawPiece,
    corpus_all,
    corpus_folk,
    corpus_scores,
    user_folder,
)
from musegen_cli.errors import UserError
from musegen_cli.parallel import CHUNK, map_chunks

CORPUS = "corpus"
#: Named groups of the corpus: `corpus` and `corpus:all` are folk tunes plus scores.
GROUPS: dict[str, Callable[[], Iterator[RawPiece]]] = {
    "all": corpus_all,
    "folk": corpus_folk,
    "scores": corpus_scores,
}
#: Transposed copies move by at most this many semitones either way.
MAX_TRANSPOSITION = 5


def pieces_of(source: str) -> Iterator[RawPiece]:
    """`corpus` (folk and scores), `corpus:all|folk|scores`, `corpus:NAME` (one folk
    collection or composer folder), or a path."""
    if source == CORPUS:
        return corpus_all()
    if source.startswith(f"{CORPUS}:"):
        name = source.split(":", 1)[1]
        if name in GROUPS:
            return GROUPS[name]()
        if name in FOLK_COLLECTIONS:
            return (piece for piece in corpus_folk() if piece.collection == name)
        if name in COMPOSERS:
            return (piece for piece in corpus_scores() if piece.collection == name)
        known = [*GROUPS, *FOLK_COLLECTIONS, *sorted(COMPOSERS)]
        raise UserError(f"unknown corpus collection {name!r}; choose one of: {', '.join(known)}")
    path = Path(source)
    if not path.exists():
        raise UserError(f"no such file or folder: {path} (or use `corpus` / `corpus:NAME`)")
    return user_folder(path)


# --------------------------------------------------------------------------- workers


def _label_batch(texts: list[str]) -> list[dict[str, Any]]:
    return [label_abc(text) for text in texts]


def _convert_batch(jobs: list[tuple[str, str | None]]) -> list[tuple[str | None, str | None, str | None]]:
    """(abc, instrumentation, error) for each (path, period)."""
    from musegen_cli.data.scores import convert_score_file
    from musegen_cli.notation.formats import one_line

    results = []
    for path, period in jobs:
        try:
            text, instrumentation = convert_score_file(Path(path), period)
            results.append((text.abc, instrumentation, None))
        except Exception as exc:  # music21 raises many types on files it cannot read
            results.append((None, None, f"{type(exc).__name__}: {one_line(exc)}"))
    return results


def _augment_batch(jobs: list[tuple[str, str, int]]) -> list[tuple[str | None, dict[str, Any], str]]:
    """(new text, labels, outcome) for each (text, kind, semitones); outcome is "ok",
    "refused" (the rewrite does not apply) or "unverified" (music21 disagrees with it)."""
    from musegen_cli.data import augment

    results: list[tuple[str | None, dict[str, Any], str]] = []
    for text, kind, semitones in jobs:
        if kind == "parallel_minor":
            new = augment.to_parallel_minor(text)
            check = (lambda a, b: augment.verify_parallel_minor(a, b, readings=(False,)))
        else:
            new = augment.transpose(text, semitones)
            check = (lambda a, b, s=semitones: augment.verify_transposition(a, b, s, readings=(False,)))
        if new is None:
            results.append((None, {}, "refused"))
        elif not check(text, new):
            results.append((None, {}, "unverified"))
        else:
            results.append((new, label_abc(new), "ok"))
    return results


# --------------------------------------------------------------------------- steps


def gather(sources: list[str], limit: int | None) -> tuple[list[Record], list[RawPiece]]:
    """Clean, deduplicated ABC records (unlabelled) and the score files, at most `limit` in all."""
    tunes: list[Record] = []
    scores: list[RawPiece] = []
    seen: set[str] = set()
    pieces = itertools.chain.from_iterable(pieces_of(source) for source in sources)
    for piece in pieces:
        if limit is not None and len(tunes) + len(scores) >= limit:
            break
        if piece.path.suffix.lower() != ".abc":
            scores.append(piece)
            continue
        for source, tune in abc_tunes_of(piece):
            clean = clean_abc_tune(tune)
            if clean is None:
                continue
            fingerprint = body_fingerprint(clean)
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            tunes.append(Record(fingerprint, piece.collection, source, clean, split_of(fingerprint), dict(piece.metadata)))
            if limit is not None and len(tunes) + len(scores) >= limit:
                break
    return tunes, scores


def _convert_scores(
    scores: list[RawPiece], seen: set[str], workers: int
) -> tuple[list[Record], dict[str, Any]]:
    jobs = [(str(piece.path), piece.metadata.get("period")) for piece in scores]
    results = map_chunks(_convert_batch, jobs, workers, "converting scores")
    records, failures, duplicates = [], [], 0
    for piece, (abc, instrumentation, error) in zip(scores, results):
        if abc is None:
            failures.append(f"{piece.collection}/{piece.path.name}: {error}")
            continue
        fingerprint = body_fingerprint(abc)
        if fingerprint in seen:
            duplicates += 1
            continue
        seen.add(fingerprint)
        metadata = {**piece.metadata, "instrumentation": instrumentation}
        records.append(Record(fingerprint, piece.collection, piece.path.name, abc, split_of(fingerprint), metadata))
    summary = {"files": len(scores), "converted": len(records), "duplicates": duplicates, "failed": len(failures), "failures": failures[:50]}
    return records, summary


def _minor_share(records: list[Record]) -> float:
    labelled = [r for r in records if r.labels.get("quadrant")]
    return sum(r.labels["quadrant"] in ("Q2", "Q3") for r in labelled) / max(1, len(labelled))


def _order(records: list[Record], seed: int, salt: str) -> list[Record]:
    return sorted(records, key=lambda r: hashlib.sha256(f"{seed}:{salt}:{r.id}".encode()).hexdigest())


def _augmented(parent: Record, text: str, labels: dict[str, Any], augmentation: str, ids: set[str]) -> Record | None:
    """A derived training record, or None when the same key and notes are already in ``ids``
    (keyed fingerprints: a parallel-minor copy shares its parent's note letters)."""
    fingerprint = keyed_fingerprint(text)
    if fingerprint in ids:
        return None  # the transformed tune is already in the corpus
    ids.add(fingerprint)
    kept = {name: parent.labels[name] for name in ("composer", "period", "instrumentation") if name in parent.labels}
    return Record(fingerprint, parent.collection, parent.source, text, "train", {**kept, **labels}, parent.id, augmentation)


def _balance(records: list[Record], target: float, ids: set[str], workers: int, seed: int) -> tuple[list[Record], dict[str, Any]]:
    """Parallel-minor copies of major training pieces until Q2+Q3 reach `target` of train."""
    train = [r for r in records if r.split == "train"]
    labelled = [r for r in train if r.labels.get("quadrant")]
    minor = sum(r.labels["quadrant"] in ("Q2", "Q3") for r in labelled)
    needed = max(0, math.ceil((target * len(labelled) - minor) / (1 - target)))
    candidates = _order([r for r in train if r.labels.get("mode") == "major"], seed, "balance")
    outcomes: Counter[str] = Counter()
    added: list[Record] = []
    position = 0
    while len(added) < needed and position < len(candidates):
        batch = candidates[position : position + max(CHUNK, int((needed - len(added)) * 1.1))]
        position += len(batch)
        results = map_chunks(_augment_batch, [(r.abc, "parallel_minor", 0) for r in batch], workers, "parallel minor")
        for parent, (text, labels, outcome) in zip(batch, results):
            if len(added) >= needed:
                break
            if outcome != "ok":
                outcomes[outcome] += 1
            elif labels.get("quadrant") not in ("Q2", "Q3"):
                outcomes["not_minor"] += 1  # the analyzer disagrees: not added
            elif (record := _augmented(parent, text, labels, "parallel_minor", ids)) is None:
                outcomes["duplicate"] += 1
            else:
                added.append(record)
    summary = {
        "target_minor_share": target,
        "minor_share_before": round(minor / max(1, len(labelled)), 4),
        "needed": needed,
        "tried": position,
        "added": len(added),
        **dict(sorted(outcomes.items())),
    }
    return added, summary


def _transpositions(records: list[Record], copies: int, ids: set[str], workers: int, seed: int) -> tuple[list[Record], dict[str, Any]]:
    """`copies` transposed versions of each original training piece, by distinct intervals."""
    intervals = [s for s in range(-MAX_TRANSPOSITION, MAX_TRANSPOSITION + 1) if s]
    jobs, parents = [], []
    for record in records:
        if record.split != "train" or record.derived_from is not None:
            continue
        for semitones in random.Random(f"{seed}:{record.id}").sample(intervals, copies):
            jobs.append((record.abc, "transpose", semitones))
            parents.append(record)
    results = map_chunks(_augment_batch, jobs, workers, "transposing")
    outcomes: Counter[str] = Counter()
    added = []
    for parent, (_text, _kind, semitones), (text, labels, outcome) in zip(parents, jobs, results):
        if outcome != "ok":
            outcomes[outcome] += 1
        elif (record := _augmented(parent, text, labels, f"transpose:{semitones:+d}", ids)) is None:
            outcomes["duplicate"] += 1
        else:
            added.append(record)
    return added, {"copies_per_piece": copies, "tried": len(jobs), "added": len(added), **dict(sorted(outcomes.items()))}


def build(
    sources: list[str],
    out: Path,
    *,
    command: str,
    workers: int = 1,
    limit: int | None = None,
    balance: float | None = None,
    transpose: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Gather, convert, deduplicate, label, augment (module docstring) and write a dataset.

    `balance`: target share of minor-valence quadrants (Q2, Q3) in train, e.g. 0.4;
    `transpose`: transposed copies of each original training piece (1 to 10)."""
    if balance is not None and not 0 < balance < 1:
        raise UserError(f"--balance must be a share between 0 and 1, not {balance}")
    if not 0 <= transpose <= 2 * MAX_TRANSPOSITION:
        raise UserError(f"--transpose must be between 0 and {2 * MAX_TRANSPOSITION}, not {transpose}")
    tunes, scores = gather(sources, limit)
    ids = {record.id for record in tunes}
    converted, score_summary = _convert_scores(scores, ids, workers)
    unlabelled = tunes + converted
    if not unlabelled:
        raise UserError("the sources hold no usable music (ABC tunes or readable scores)")
    labels = map_chunks(_label_batch, [record.abc for record in unlabelled], workers, "labelling")
    records = [replace(r, labels={**r.labels, **label}) for r, label in zip(unlabelled, labels)]
    extra: dict[str, Any] = {"originals": len(records), "seed": seed}
    if scores:
        extra["scores"] = score_summary
    augmentation: dict[str, Any] = {}
    added: list[Record] = []
    keyed = {keyed_fingerprint(record.abc) for record in records}
    if balance is not None:
        minor_copies, augmentation["parallel_minor"] = _balance(records, balance, keyed, workers, seed)
        added += minor_copies
    if transpose:
        transposed, augmentation["transposed"] = _transpositions(records, transpose, keyed, workers, seed)
        added += transposed
    if augmentation:
        train = [r for r in records + added if r.split == "train"]
        augmentation["minor_share_train_after"] = round(_minor_share(train), 4)
        extra["augmentation"] = augmentation
    return write_dataset(records + added, out, command=command, extra=extra)
