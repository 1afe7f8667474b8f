"""Does a generated piece copy a piece its model was trained on?

A model folder's manifest records its training data (`provenance`): the dataset folder it was
trained on (`data_folder`), the `--data` it was given (`data`: a dataset folder, or music files
that `data.resolve` built into a cached dataset) and that dataset's manifest hash
(`data_manifest_hash`). The training split found there is indexed once
(`scoring.similarity.SimilarityIndex`), and each generated piece is matched against it with the
copy rule of `scoring.similarity`: a nearest training piece at or above `COPY_THRESHOLD`
(shingle Jaccard over the music body) is a copy, the same rule `musegen dpo` excludes copies by.
A dataset whose manifest hash differs from the recorded one is another dataset and is not used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from musegen_cli.model_dir import read_manifest
from musegen_cli.scoring.similarity import Match, SimilarityIndex, dataset_pieces


@dataclass(frozen=True)
class CopyCheck:
    """The nearest training piece of each generated piece, and the dataset they come from."""

    folder: Path
    training_pieces: int
    matches: list[Match]


def training_folder(model_dir: Path) -> Path | None:
    """The dataset folder the model in ``model_dir`` was trained on, when it is still here."""
    from musegen_cli.data.resolve import cached_folder, is_dataset

    provenance = read_manifest(model_dir).get("provenance") or {}
    data = provenance.get("data")
    folders = [Path(place).expanduser() for place in (provenance.get("data_folder"), data)
               if isinstance(place, str) and place]
    if isinstance(data, str) and data and (cached := cached_folder(data)) is not None:
        folders.append(cached)
    for folder in folders:
        if is_dataset(folder) and _same_data(folder, provenance.get("data_manifest_hash")):
            return folder
    return None


def _same_data(folder: Path, recorded_hash: str | None) -> bool:
    if recorded_hash is None:
        return True  # nothing recorded to compare with: the folder named is the best knowledge
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("hash") == recorded_hash
    except (OSError, ValueError):
        return False


def training_pieces(model_dir: Path) -> tuple[Path, list[tuple[str, str]]] | None:
    """(dataset folder, its training pieces as (id, ABC)) of a model, or None when unknown."""
    folder = training_folder(model_dir)
    return None if folder is None else (folder, dataset_pieces(folder))


def check_copies(model_dir: Path, pieces: Sequence[str]) -> CopyCheck | None:
    """Match ``pieces`` against the model's training pieces (indexed once for all of them);
    None when the model folder does not say where its training data is."""
    found = training_pieces(model_dir)
    if found is None:
        return None
    folder, training = found
    index = SimilarityIndex(training)
    return CopyCheck(folder, len(training), index.nearest_many(pieces))
