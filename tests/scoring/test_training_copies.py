"""Generated pieces that copy a training piece of their model are flagged (the shingle copy rule)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.model_dir import MANIFEST
from musegen_cli.registry import reset_registry
from musegen_cli.scoring.similarity import COPY_THRESHOLD
from musegen_cli.scoring.training_copies import check_copies, training_folder

REEL = "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\nA2FA DAFA|B2GB dBGB|A2FA DAFA|d2fd e2ce|\n"
JIG = "X:1\nT:Jig\nM:6/8\nL:1/8\nK:G\nGAB cBA|GAB c2d|edc BAG|A3 G3|\n"


def dataset(folder: Path, tunes: list[str], manifest_hash: str = "h1", prefix: str = "tune-") -> Path:
    folder.mkdir(parents=True)
    rows = [json.dumps({"id": f"{prefix}{i}", "abc": abc, "labels": {}}) for i, abc in enumerate(tunes)]
    (folder / "train.jsonl").write_text("\n".join(rows) + "\n")
    (folder / "manifest.json").write_text(json.dumps({"hash": manifest_hash}))
    return folder


def model_trained_on(tmp_path: Path, provenance: dict) -> Path:
    """The bundled default model's folder, its manifest saying it was trained on other data."""
    from musegen_plugins.abc_transformer.family import bundled_models

    folder = tmp_path / "model"
    shutil.copytree(bundled_models()["default"], folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["provenance"] = provenance
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


def test_the_recorded_dataset_is_found_only_when_its_hash_matches(tmp_path):
    data = dataset(tmp_path / "data", [REEL, JIG])
    assert training_folder(model_trained_on(tmp_path / "a", {"data_folder": str(data),
                                                              "data_manifest_hash": "h1"})) == data
    assert training_folder(model_trained_on(tmp_path / "b", {"data": str(data)})) == data
    assert training_folder(model_trained_on(tmp_path / "c", {"data": str(data), "data_manifest_hash": "h2"})) is None
    assert training_folder(model_trained_on(tmp_path / "d", {"data": str(tmp_path / "gone")})) is None


def test_a_copy_under_another_title_and_layout_is_flagged_and_an_unrelated_tune_is_not(tmp_path):
    data = dataset(tmp_path / "data", [REEL, JIG])
    model = model_trained_on(tmp_path, {"data_folder": str(data)})
    near = REEL.replace("T:Reel", "T:My New Tune").replace("DAFA|", "DAFA|\n").replace(" ", "")
    other = "X:1\nT:Air\nM:3/4\nL:1/4\nK:Am\nA B c|e2 d|c B A|E3|\n"
    check = check_copies(model, [REEL, near, other])
    assert check is not None and check.folder == data and check.training_pieces == 2
    assert [m.id for m in check.matches[:2]] == ["tune-0", "tune-0"]
    assert [m.is_copy for m in check.matches] == [True, True, False]
    assert check.matches[1].similarity >= COPY_THRESHOLD > check.matches[2].similarity


def test_generate_flags_a_piece_that_copies_a_training_piece_in_the_table_and_the_json(tmp_path):
    reset_registry()
    args = ["generate", "--bars", "2", "-n", "2", "--seed", "4"]
    plain = CliRunner().invoke(app, [*args, "--json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["training_data"] is None  # the bundled model's data is not here
    first, second = (p["abc"] for p in json.loads(plain.stdout)["pieces"])
    data = dataset(tmp_path / "data", [JIG, first], prefix="[/b]tune-")  # as if the model had learned the first
    model = model_trained_on(tmp_path, {"data_folder": str(data), "data_manifest_hash": "h1"})
    reset_registry()
    flagged = CliRunner().invoke(app, [*args, "-m", str(model), "--json"])
    assert flagged.exit_code == 0, flagged.output
    report = json.loads(flagged.stdout)
    assert report["training_data"] == {"folder": str(data), "pieces": 2}
    assert report["pieces"][0]["copies_training_piece"] == {"id": "[/b]tune-1", "similarity": 1.0}
    assert report["pieces"][1]["copies_training_piece"] is None and report["pieces"][1]["abc"] == second
    reset_registry()
    table = CliRunner().invoke(app, [*args, "-m", str(model)], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "piece 1 copies training piece [/b]tune-1 (similarity 1.00" in table.stderr
    assert "training copy" in table.stderr and "yes: [/b]tune-1 (1.00)" in table.stderr  # the id is text


@pytest.mark.parametrize("provenance", [{}, {"data": "corpus"}])
def test_a_model_that_does_not_know_its_data_is_not_checked(tmp_path, provenance):
    assert check_copies(model_trained_on(tmp_path, provenance), [REEL]) is None
