"""The plagiarism verdict: calibrated on the reference set's own nearest neighbours, it tells a
corpus tune with a few notes changed from unrelated tunes of the same collection."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from benchmarks.plagiarism import change_notes
from musegen_cli.cli.app import app
from musegen_cli.scoring.plagiarism import Calibration, calibrate, neighbour_similarities
from musegen_cli.scoring.reference import ReferenceSet


def test_percentile_threshold_and_verdict_follow_the_sorted_neighbours() -> None:
    calibration = Calibration(np.arange(1, 101) / 100)  # 0.01 ... 1.00
    assert calibration.percentile(0.005) == 0 and calibration.percentile(0.50) == 50
    assert calibration.percentile(1.0) == 100
    assert (calibration.close_threshold, calibration.copy_threshold) == (0.90, 0.99)
    assert [calibration.verdict(s) for s in (0.5, 0.899, 0.90, 0.989, 0.99, 1.0)] == [
        "unrelated", "unrelated", "close", "close", "copy", "copy"]


def test_each_piece_is_compared_with_the_others_only() -> None:
    angles = torch.tensor([0.0, 0.1, 1.0, 2.5])
    embeddings = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    found = neighbour_similarities(embeddings, chunk=3)  # a block boundary inside the set
    assert found == pytest.approx(np.cos([0.1, 0.1, 0.9, 1.5]), abs=1e-6)


def test_small_reference_sets_get_no_verdict() -> None:
    embeddings = torch.nn.functional.normalize(torch.randn(19, 8), dim=1)
    assert calibrate(ReferenceSet([str(i) for i in range(19)], embeddings, "v", "test")) is None


def numbered(tunes: list[str]) -> str:
    """One tunebook of the tunes, numbered X:1, X:2, ... so that each row has its own name."""
    return "\n\n".join(re.sub(r"^X:.*$", f"X:{n}", tune, count=1, flags=re.MULTILINE) if tune.startswith("X:")
                       else f"X:{n}\n{tune}" for n, tune in enumerate(tunes, 1)) + "\n"


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, list[dict]]:
    """`musegen score --reference` (the bundled scorer) on copies and on unrelated tunes: 150
    tunes of corpus:miscFolk are the reference; 13 of them with 2 notes changed are the copies,
    18 later tunes of the collection (not in the reference) the unrelated ones."""
    from musegen_cli.scoring.reference import music_pieces

    tunes = [abc for _name, abc in music_pieces("corpus:miscFolk")]
    folder = tmp_path_factory.mktemp("plagiarism")
    groups = {"reference": tunes[:150], "unrelated": tunes[160:],
              "copies": [change_notes(tunes[i], 2, random.Random(i)) for i in range(0, 150, 12)]}
    for name, texts in groups.items():
        (folder / f"{name}.abc").write_text(numbered(texts))
    result = CliRunner().invoke(app, ["score", str(folder / "copies.abc"), str(folder / "unrelated.abc"),
                                      "--reference", str(folder / "reference.abc"), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    return {name: [r for r in rows if r["piece"].startswith(str(folder / name))] for name in ("copies", "unrelated")}


def test_copies_and_unrelated_tunes_are_told_apart(verdicts) -> None:
    copies, unrelated = verdicts["copies"], verdicts["unrelated"]
    assert (len(copies), len(unrelated)) == (13, 18)
    assert sum(r["plagiarism_verdict"] != "unrelated" for r in copies) >= 0.8 * len(copies)
    assert sum(r["plagiarism_verdict"] == "copy" for r in unrelated) <= 0.1 * len(unrelated)
    assert sum(r["plagiarism_verdict"] == "unrelated" for r in unrelated) >= 0.5 * len(unrelated)
    flagged = np.array([r["plagiarism_percentile"] for r in copies])
    others = np.array([r["plagiarism_percentile"] for r in unrelated])
    assert (flagged[:, None] > others[None, :]).mean() >= 0.8  # AUC (ties count as misses)


def test_the_raw_cosine_alone_does_not_tell_them_apart(verdicts) -> None:
    """Why the calibration: unrelated tunes too lie at cosines above 0.99."""
    assert np.median([r["plagiarism"] for r in verdicts["unrelated"]]) > 0.99


def test_the_thresholds_are_in_every_row(verdicts) -> None:
    for row in verdicts["copies"] + verdicts["unrelated"]:
        assert row["plagiarism_close_threshold"] < row["plagiarism_copy_threshold"] <= 1.0 + 1e-6
        assert (row["plagiarism"] >= row["plagiarism_copy_threshold"]) == (row["plagiarism_verdict"] == "copy")
