"""Building a clean, deduplicated, labelled ABC dataset with deterministic splits.

The output folder holds `train.jsonl`, `valid.jsonl`, `test.jsonl` (one piece per line: id,
collection, source, clean ABC, labels) and `manifest.json` (counts, file hashes, licence,
how it was built). A piece's split is decided by the hash of its notes, so the same tune
lands in the same split however the corpus is ordered or extended, and duplicate tunes
(same notes, any header) are kept once.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from musegen_cli.data.sources import RawPiece
from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

SPLITS = ("train", "valid", "test")
#: Percent of pieces in valid and test; the rest train.
VALID_PERCENT = 5
TEST_PERCENT = 5
LICENCE = (
    "music21's bundled corpus: free for non-commercial research use only; "
    "user-supplied music keeps its own licence"
)


@dataclass(frozen=True)
class Record:
    id: str
    collection: str
    source: str
    abc: str
    split: str
    labels: dict[str, Any] = field(default_factory=dict)
    #: For augmented copies: the id of the piece they were made from, and how (see `augment`).
    derived_from: str | None = None
    augmentation: str | None = None


def split_of(fingerprint: str) -> str:
    """Deterministic split from the piece's hash: about 90/5/5."""
    bucket = int(fingerprint, 16) % 100
    if bucket < TEST_PERCENT:
        return "test"
    if bucket < TEST_PERCENT + VALID_PERCENT:
        return "valid"
    return "train"


def abc_tunes_of(piece: RawPiece) -> Iterator[tuple[str, str]]:
    """(source, raw tune) for each tune in an ABC file (UTF-8 or Latin-1); none for binary data."""
    from musegen_cli.errors import UserError
    from musegen_cli.notation.formats import decode_text, split_abc_tunes

    try:
        text = decode_text(piece.path.read_bytes(), "abc")
    except UserError:
        return
    for index, tune in enumerate(split_abc_tunes(text), start=1):
        yield f"{piece.path.name}#{index}", tune


def write_dataset(
    records_: Iterable[Record], out: Path, *, command: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write the split files and the manifest; return the manifest."""
    lines: dict[str, list[str]] = {split: [] for split in SPLITS}
    by_collection: Counter[str] = Counter()
    by_quadrant: Counter[str] = Counter()
    for record in records_:
        lines[record.split].append(json.dumps(asdict(record), ensure_ascii=False, sort_keys=True))
        by_collection[record.collection] += 1
        by_quadrant[str(record.labels.get("quadrant"))] += 1
    files = {}
    for split, rows in lines.items():
        payload = "".join(row + "\n" for row in sorted(rows))
        atomic_write(out / f"{split}.jsonl", payload)
        files[f"{split}.jsonl"] = {"pieces": len(rows), "sha256": hashlib.sha256(payload.encode()).hexdigest()}
    manifest = {
        "pieces": sum(len(rows) for rows in lines.values()),
        "files": files,
        "collections": dict(sorted(by_collection.items())),
        "quadrants": dict(sorted(by_quadrant.items())),
        "licence": LICENCE,
        "command": command,
        **(extra or {}),
    }
    manifest["hash"] = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_split(folder: Path, split: str) -> list[dict[str, Any]]:
    """The records of `folder/SPLIT.jsonl` as dicts (none when the file is missing); a line
    that is not a record with ABC text is a one-line error naming it."""
    path = folder / f"{split}.jsonl"
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record["abc"], str):
                raise TypeError("no ABC text")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UserError(f"{path}:{number} is not a dataset record ({exc})") from None
        records.append(record)
    return records
