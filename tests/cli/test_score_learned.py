"""`musegen score` with learned scores: reference, plagiarism, text, emotion, feature files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.scoring.scorer import build_scorer, save_scorer

TUNES = Path(__file__).parents[1] / "data" / "tunes"


@pytest.fixture(scope="module")
def scorer_dir(tmp_path_factory) -> Path:
    """A debug scorer of random weights, saved as a scorer folder."""
    folder = tmp_path_factory.mktemp("scorer") / "debug"
    save_scorer(build_scorer("debug", seed=0), folder, provenance={"command": ["test"]}, metrics={})
    return folder


def run(*args: object):
    return CliRunner().invoke(app, ["score", *map(str, args)])


def rows(*args: object) -> list[dict]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture()
def reference_folder(tmp_path) -> Path:
    folder = tmp_path / "ref"
    folder.mkdir()
    for name in ("dmix_jig.abc", "ador_reel.abc"):
        shutil.copy(TUNES / name, folder / name)
    return folder


def test_every_learned_score_lands_in_the_rows(scorer_dir, reference_folder):
    found = rows(TUNES / "dmix_jig.abc", TUNES / "slow_air_f.abc", "--scorer", scorer_dir,
                 "--reference", reference_folder, "--text", "a jig in D", "--emotion", "Q1")
    assert [r["piece"].rsplit("/", 1)[-1] for r in found] == ["dmix_jig.abc", "slow_air_f.abc"]
    for row in found:
        assert -1.0 <= row["reference"] <= 1.0 and -1.0 <= row["text"] <= 1.0
        assert 0.0 <= row["emotion_Q1"] <= 1.0 and row["quadrant"] is not None
    jig = found[0]
    assert jig["plagiarism"] == pytest.approx(1.0, abs=1e-5)  # the same tune is in the reference
    assert jig["plagiarism_match"].endswith("dmix_jig.abc")


def test_unparseable_pieces_get_no_learned_scores_and_do_not_stop_the_batch(scorer_dir, tmp_path):
    broken = tmp_path / "broken.abc"
    broken.write_text("X:1\nT:no key field\nabc|\n")
    found = rows(broken, TUNES / "dmix_jig.abc", "--scorer", scorer_dir, "--emotion", "Q3")
    assert found[0]["parses"] is False and found[0]["emotion_Q3"] is None and found[0]["error"]
    assert found[1]["emotion_Q3"] is not None


def test_saved_features_are_a_reference_that_scores_the_same(scorer_dir, reference_folder, tmp_path):
    saved = tmp_path / "ref.safetensors"
    result = run(reference_folder, "--scorer", scorer_dir, "--save-features", saved)
    assert result.exit_code == 0, result.output
    from_music = rows(TUNES / "slow_air_f.abc", "--scorer", scorer_dir, "--reference", reference_folder)
    from_file = rows(TUNES / "slow_air_f.abc", "--scorer", scorer_dir, "--reference", saved)
    assert from_file[0]["reference"] == pytest.approx(from_music[0]["reference"], abs=1e-6)
    assert from_file[0]["plagiarism_match"] == from_music[0]["plagiarism_match"]


def test_a_reference_from_another_scorer_is_refused(scorer_dir, reference_folder, tmp_path):
    other = tmp_path / "other"
    save_scorer(build_scorer("debug", seed=1), other, provenance={}, metrics={})
    saved = tmp_path / "ref.safetensors"
    assert run(reference_folder, "--scorer", other, "--save-features", saved).exit_code == 0
    result = run(TUNES / "dmix_jig.abc", "--scorer", scorer_dir, "--reference", saved)
    assert result.exit_code == 2 and "scorer version" in result.stderr


def test_bad_learned_score_requests_are_one_line_errors(scorer_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(TUNES / "dmix_jig.abc", "--scorer", scorer_dir, "--reference", empty)
    assert result.exit_code == 2 and "holds no pieces" in result.stderr
    result = run(TUNES / "dmix_jig.abc", "--scorer", scorer_dir, "--emotion", "Q7")
    assert result.exit_code == 2 and "Q1, Q2, Q3, Q4" in result.stderr
    result = run(TUNES / "dmix_jig.abc", "--scorer", tmp_path, "--emotion", "Q1")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_the_learned_table_shows_the_scores(scorer_dir, reference_folder):
    result = run(TUNES / "dmix_jig.abc", "--scorer", scorer_dir, "--reference", reference_folder, "--emotion", "Q2")
    assert result.exit_code == 0, result.output
    assert "P(Q2)" in result.stdout and "nearest" in result.stdout and "dmix_jig.abc" in result.stdout


def test_a_corpus_collection_is_an_input(scorer_dir):
    found = rows("corpus:miscFolk", "--scorer", scorer_dir, "--text", "a reel")
    assert len(found) > 100 and all(r["piece"].startswith("corpus:miscFolk/") for r in found)
