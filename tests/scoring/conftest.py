"""Shared fixtures for the scorer tests: a small labelled dataset of real tunes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _corpus_tunes(collection: str, file: str, count: int) -> list[str]:
    import music21

    from musegen_cli.notation.formats import split_abc_tunes

    path = Path(music21.__file__).parent / "corpus" / collection / file
    return split_abc_tunes(path.read_bytes().decode("latin-1"))[:count]


@pytest.fixture(scope="session")
def scorer_records() -> list[dict]:
    """32 real tunes (16 Essen, 16 O'Neill's) as dataset records with the analyzer's labels."""
    from musegen_cli.analysis.labels import label_abc

    records = []
    for collection, file in (("essenFolksong", "altdeu10.abc"), ("oneills1850", "0001-0050.abc")):
        for number, abc in enumerate(_corpus_tunes(collection, file, 16)):
            records.append({"abc": abc, "collection": collection, "id": f"{collection}-{number}",
                            "labels": label_abc(abc), "source": f"{file}#{number}"})
    return records


@pytest.fixture(scope="session")
def scorer_data(tmp_path_factory, scorer_records) -> Path:
    """A dataset folder: 24 training, 4 validation and 4 test records, and a manifest hash."""
    folder = tmp_path_factory.mktemp("scorer-data")
    order = scorer_records[::2] + scorer_records[1::2]  # both collections in every split
    splits = {"train": order[:12] + order[16:28], "valid": order[12:14] + order[28:30],
              "test": order[14:16] + order[30:32]}
    for split, records in splits.items():
        lines = [json.dumps({**r, "split": split}) for r in records]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"hash": "feedc0ffee"}), encoding="utf-8")
    return folder
