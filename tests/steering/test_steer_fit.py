"""Concepts, per-layer fitting and `musegen steer` end to end on a debug model."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.errors import UserError
from musegen_cli.registry import reset_registry
from musegen_cli.steering import concepts
from musegen_cli.steering.fit import fit_directions, points_to, reliability_warnings, split


def invoke(*args: object):
    reset_registry()
    return CliRunner().invoke(app, [str(a) for a in args])


def test_built_in_concepts_balance_classes_and_label_the_way_the_docs_say():
    records = ([{"abc": f"X:1\nK:G\nG{i}|\n", "labels": {"mode": "major", "register_band": "high", "key": "G",
                                                          "meter": "3/4"}} for i in range(30)]
               + [{"abc": f"X:1\nK:Em\nE{i}|\n", "labels": {"mode": "dorian", "register_band": "low", "key": "Em",
                                                            "meter": "6/8"}} for i in range(12)])
    mode = concepts.built_in("mode", records, count=20, seed=0)
    assert mode.labels == ["major", "minor"] and mode.targets.count(0.0) == 10 and mode.targets.count(1.0) == 10
    register = concepts.built_in("register", records, count=100, seed=0)
    assert register.labels == ["low", "high"]
    tonic = concepts.built_in("tonic", records, count=24, seed=0)
    assert sorted(tonic.labels) == ["E", "G"]
    with pytest.raises(UserError, match="unknown concept"):
        concepts.built_in("timbre", records, 10, 0)
    with pytest.raises(UserError, match="needs two classes"):
        concepts.built_in("mode", records[:30], 10, 0)


def test_a_csv_concept_reads_pieces_and_values(tmp_path):
    for i in range(16):
        (tmp_path / f"p{i}.abc").write_text(f"X:1\nM:4/4\nL:1/4\nK:C\nC D E {'F' * (i % 4 + 1)}|\n")
    rows = ["piece,value"] + [f"p{i}.abc,{i / 2}" for i in range(16)]
    (tmp_path / "bright.csv").write_text("\n".join(rows) + "\n")
    concept = concepts.from_csv(tmp_path / "bright.csv")
    assert concept.task == "regression" and len(concept.pieces) == 16 and concept.targets[3] == 1.5
    (tmp_path / "bad.csv").write_text("p0.abc,loud\np1.abc,x\n")
    with pytest.raises(UserError, match="is not a number"):
        concepts.from_csv(tmp_path / "bad.csv")


def test_fitting_finds_a_planted_direction_in_one_layer_and_not_in_noise():
    g = torch.Generator().manual_seed(0)
    labels = [float(i % 2) for i in range(60)]
    concept = concepts.ConceptData("planted", "classification", ["off", "on"], ["X:1\nK:C\nC|\n"] * 60, labels)
    signal = torch.randn(60, 16, generator=g)
    signal[:, 3] += 4 * (torch.tensor(labels) - 0.5)
    noise = torch.randn(60, 16, generator=g)
    found = fit_directions({"patch.0": noise, "patch.1": signal}, concept, {"name": "t", "weights_hash": "h"}, "mean",
                           rounds=2, grid={"bandwidth": (4.0,), "ridge": (1e-2,)})
    assert found.layers["patch.1"].rfm_score > 0.9 > found.layers["patch.0"].rfm_score
    assert int(found.vectors["patch.1"][0].abs().argmax()) == 3 and found.vectors["patch.1"][0, 3] > 0
    train, valid = split(60, 0)
    assert len(valid) == 12 and not set(train) & set(valid)


def test_scores_on_few_validation_pieces_are_flagged_and_the_positive_direction_is_named():
    def fitted(task: str, labels: list[str], targets: list[float]):
        concept = concepts.ConceptData("c", task, labels, ["X:1\nK:C\nC|\n"] * len(targets), targets)
        x = torch.randn(len(targets), 8, generator=torch.Generator().manual_seed(0))
        return fit_directions({"patch.0": x}, concept, {"name": "t", "weights_hash": "h"}, "mean", rounds=0,
                              grid={"bandwidth": (4.0,), "ridge": (1e-2,)})

    few = fitted("classification", ["calm", "wild"], [float(i % 2) for i in range(16)])
    assert sum(few.notes["valid_per_class"].values()) == few.notes["valid"] == 3
    assert reliability_warnings(few) and "at least 10 of each" in reliability_warnings(few)[0]
    assert points_to(few) == "wild (away from calm)"
    enough = fitted("classification", ["calm", "wild"], [float(i % 2) for i in range(200)])
    assert min(enough.notes["valid_per_class"].values()) >= 10 and reliability_warnings(enough) == []
    regression = fitted("regression", ["brightness"], [i / 7 for i in range(40)])
    assert "only 8 validation pieces" in reliability_warnings(regression)[0]
    assert points_to(regression) == "higher brightness"
    assert "one vector per class: C, D, G" in points_to(
        fitted("classification", ["C", "D", "G"], [float(i % 3) for i in range(30)]))


def test_steer_fit_show_and_generate_with_a_direction(cli_model, mode_folders, tmp_path):
    out = tmp_path / "mode"
    result = invoke("steer", "fit", "--model", cli_model, "--folder", f"major={mode_folders['major']}",
                    "--folder", f"minor={mode_folders['minor']}", "--rounds", "1", "--seed", "1", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["labels"] == ["major", "minor"] and set(summary["layers"]) >= {"patch.0", "char.0"}
    assert all(0.0 <= layer["rfm"] <= 1.0 for layer in summary["layers"].values())
    assert summary["points_to"] == "minor (away from major)"
    assert summary["warnings"] and "too few validation pieces per class" in result.stderr

    shown = invoke("steer", "show", out)
    assert shown.exit_code == 0 and "RFM accuracy" in shown.stdout and (out / "layers.png").stat().st_size > 1000

    plain = invoke("generate", "--model", cli_model, "--seed", 3, "--bars", 3, "-n", 2)
    steered = invoke("steer", "generate", "--model", cli_model, "--seed", 3, "--bars", 3, "-n", 2,
                     "--direction", f"{out},strength=4,layers=all")
    assert plain.exit_code == 0 and steered.exit_code == 0, steered.output
    assert steered.stdout != plain.stdout
    zero = invoke("generate", "--model", cli_model, "--seed", 3, "--bars", 3, "-n", 2, "--direction", f"{out},strength=0")
    assert zero.stdout == plain.stdout


def test_directions_refuse_another_model_and_bad_specs(cli_model, mode_folders, tmp_path):
    out = tmp_path / "mode"
    assert invoke("steer", "fit", "--model", cli_model, "--folder", f"major={mode_folders['major']}",
                  "--folder", f"minor={mode_folders['minor']}", "--rounds", "0", "-o", out).exit_code == 0
    manifest = json.loads((out / "directions.json").read_text())
    manifest["model"]["weights_hash"] = "0" * 16
    (out / "directions.json").write_text(json.dumps(manifest))
    result = invoke("generate", "--model", cli_model, "--seed", 1, "--direction", str(out))
    assert result.exit_code == 2 and "fitted on model" in result.stderr
    result = invoke("generate", "--model", cli_model, "--seed", 1, "--direction", f"{out},loudness=3")
    assert result.exit_code == 2 and "known key" in result.stderr
    result = invoke("steer", "fit", "--model", cli_model, "-o", tmp_path / "x")
    assert result.exit_code == 2 and "exactly one of" in result.stderr
