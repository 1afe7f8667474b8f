"""Concepts to find directions for: pieces with a label each.

Built in, labelled by the analyzer on a dataset's training pieces (`musegen data build`):

- `mode`: major vs minor (the emotion rule's mode: declared, else analyzed); a direction
  points towards minor;
- `register`: low vs high register band; points towards high;
- `density`: regression on notes per second as performed (the analyzer's measure of tempo
  and density together); points towards denser;
- `meter`: the most common meters (multiclass, one direction per meter);
- `tonic`: the key's tonic pitch class (multiclass, the classes with enough pieces).

Or the user's: folders of music, one per class (`--folders minor=sad/ major=happy/`), or a
CSV of `piece,value` rows (a path to a music file and a number) for a regression concept.
Classes are balanced by taking at most the same number of pieces from each.

A family whose layers read audio (`inputs="audio"`, e.g. musicgen) gets WAV file paths as
its pieces instead of ABC text: folders of `.wav` files, or CSV rows naming them.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musegen_cli.errors import UserError
from musegen_cli.notation.abc.modes import MAJOR_LIKE, MINOR_LIKE

BUILT_IN = ("mode", "register", "density", "meter", "tonic")
_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Fewest pieces a class needs to take part.
MIN_CLASS = 8


@dataclass(frozen=True)
class ConceptData:
    name: str
    task: str  # "classification" or "regression"
    labels: list[str]  # class names in index order; for regression, the value's name
    pieces: list[str]  # ABC texts, or WAV file paths for a family whose layers read audio
    targets: list[float]  # class index or value per piece

    def __post_init__(self) -> None:
        if len(self.pieces) != len(self.targets):
            raise ValueError("one target per piece")
        if len(self.pieces) < 2 * MIN_CLASS:
            raise UserError(f"the {self.name} concept has only {len(self.pieces)} pieces; it needs at least "
                            f"{2 * MIN_CLASS}")


def built_in(name: str, records: Sequence[Mapping[str, Any]], count: int, seed: int) -> ConceptData:
    """One of `BUILT_IN` from dataset records (their ABC and analyzer labels)."""
    rng = random.Random(f"{seed}:{name}")
    if name == "density":
        return _density(records, count, rng)
    label_of = {"mode": _mode_class, "register": _register_class, "meter": _meter_class, "tonic": _tonic_class}
    if name not in label_of:
        raise UserError(f"unknown concept {name!r}; built-in concepts: {', '.join(BUILT_IN)}")
    pairs = [(r["abc"], label) for r in records if (label := label_of[name](r.get("labels") or {})) is not None]
    order = {"mode": ["major", "minor"], "register": ["low", "high"]}.get(name)
    return _balanced(name, pairs, count, rng, order, most_common=4 if name == "meter" else None)


def _mode_class(labels: Mapping[str, Any]) -> str | None:
    mode = labels.get("mode")
    return "major" if mode in MAJOR_LIKE else "minor" if mode in MINOR_LIKE else None


def _register_class(labels: Mapping[str, Any]) -> str | None:
    band = labels.get("register_band")
    return band if band in ("low", "high") else None


def _meter_class(labels: Mapping[str, Any]) -> str | None:
    meter = labels.get("meter")
    return meter if meter and meter != "none" else None


def _tonic_class(labels: Mapping[str, Any]) -> str | None:
    from musegen_cli.analysis.abc_header import parse_key
    from musegen_cli.notation.abc.modes import pitch_class

    key = str(labels.get("key") or "").split(" ")[0]
    tonic = parse_key(key).tonic if key else None
    return _PITCH_NAMES[pitch_class(tonic)] if tonic else None


def _balanced(name: str, pairs: list[tuple[str, str]], count: int, rng: random.Random,
              order: list[str] | None, most_common: int | None) -> ConceptData:
    """At most count / classes pieces per class, classes with fewer than MIN_CLASS dropped."""
    counts = Counter(label for _, label in pairs)
    classes = [c for c, n in counts.most_common(most_common) if n >= MIN_CLASS]
    if order is not None:
        classes = [c for c in order if c in classes]
    if len(classes) < 2:
        raise UserError(f"the {name} concept needs two classes with at least {MIN_CLASS} pieces each; "
                        f"found {dict(counts) or 'none'}")
    per_class = max(MIN_CLASS, count // len(classes))
    pieces, targets = [], []
    for index, label in enumerate(sorted(classes, key=lambda c: (order or classes).index(c))):
        members = [abc for abc, found in pairs if found == label]
        rng.shuffle(members)
        kept = members[:per_class]
        pieces += kept
        targets += [float(index)] * len(kept)
    labels = sorted(classes, key=lambda c: (order or classes).index(c))
    return ConceptData(name, "classification", labels, pieces, targets)


def _density(records: Sequence[Mapping[str, Any]], count: int, rng: random.Random) -> ConceptData:
    from musegen_cli.analysis.features import analyze_abc

    chosen = list(records)
    rng.shuffle(chosen)
    pieces, targets = [], []
    for record in chosen[: int(count * 1.2) + MIN_CLASS]:
        features = analyze_abc(record["abc"])
        if features.notes_per_second is not None:
            pieces.append(record["abc"])
            targets.append(features.notes_per_second)
        if len(pieces) >= count:
            break
    return ConceptData("density", "regression", ["notes per second"], pieces, targets)


def _wav_files(folder: Path) -> list[str]:
    return [str(path) for path in sorted(folder.rglob("*")) if path.suffix.lower() == ".wav" and path.is_file()]


def from_folders(folders: Mapping[str, Path], count: int, seed: int, inputs: str = "abc") -> ConceptData:
    """A classification concept from folders of music, one per class (label -> folder)."""
    from musegen_cli.scoring.inputs import collect_sources, read_pieces

    if len(folders) < 2:
        raise UserError("a concept from folders needs at least two classes (LABEL=FOLDER, twice or more)")
    pairs = []
    for label, folder in folders.items():
        if inputs == "audio":
            texts = _wav_files(folder)
        else:
            texts = [piece.abc() for piece in read_pieces(collect_sources([str(folder)]))]
        pairs += [(abc, label) for abc in texts if abc]
    name = "-".join(folders)
    return _balanced(name, pairs, count, random.Random(seed), list(folders), None)


def from_csv(path: Path, inputs: str = "abc") -> ConceptData:
    """A regression concept from `piece,value` rows (a header row is skipped)."""
    from musegen_cli.scoring.inputs import read_pieces

    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    pieces, targets = [], []
    for number, row in enumerate(rows, start=1):
        if len(row) < 2:
            raise UserError(f"{path}:{number}: expected `piece,value`")
        try:
            value = float(row[1])
        except ValueError:
            if number == 1:
                continue  # a header
            raise UserError(f"{path}:{number}: {row[1]!r} is not a number") from None
        piece = Path(row[0]) if Path(row[0]).is_absolute() else path.parent / row[0]
        if not piece.is_file():
            raise UserError(f"{path}:{number}: no such file {piece}")
        texts = [str(piece)] if inputs == "audio" else [p.abc() for p in read_pieces([str(piece)])]
        for abc in texts:
            if abc:
                pieces.append(abc)
                targets.append(value)
    return ConceptData(path.stem, "regression", [path.stem], pieces, targets)
