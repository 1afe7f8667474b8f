"""`musegen models`: list (also plain `musegen models`), add and remove named model folders,
and those names in --model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.errors import UserError
from musegen_cli.model_dir import write_model_dir
from musegen_cli.models import resolve_model
from musegen_cli.registry import Registry, reset_registry


def invoke(*args: object):
    reset_registry()
    return CliRunner().invoke(app, ["models", *map(str, args)])


def _model(folder: Path) -> Path:
    return write_model_dir(folder, family="fam", config={}, state_dict={"w": torch.zeros(2)})


def listed(*args: object) -> dict[str, dict]:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return {m["name"]: m for m in json.loads(result.stdout)}


def test_a_run_added_by_name_is_listed_and_resolves_from_any_folder(isolated_home, tmp_path, monkeypatch):
    run = _model(tmp_path / "runs" / "mine")
    _model(isolated_home / "models" / "saved")
    assert invoke("add", run).exit_code == 0
    added = invoke("add", run, "--name", "folk", "--json")
    assert json.loads(added.stdout) == {"name": "folk", "path": str(run.resolve())}
    models = listed()
    assert models["mine"]["source"] == models["folk"]["source"] == "registered"
    assert models["saved"]["source"] == "user" and models["mine"]["path"] == str(run.resolve())
    assert listed("list") == models  # plain `musegen models` is `musegen models list`
    monkeypatch.chdir(tmp_path / "runs")
    assert resolve_model("folk", Registry()).path == run.resolve()
    registry = json.loads((isolated_home / "models.json").read_text())
    assert registry == {"schema_version": 1, "models": {"folk": str(run.resolve()), "mine": str(run.resolve())}}


def test_remove_forgets_the_name_and_keeps_the_folder(isolated_home, tmp_path):
    run = _model(tmp_path / "mine")
    invoke("add", run)
    result = invoke("remove", "mine")
    assert result.exit_code == 0 and run.is_dir()
    assert "mine" not in listed()
    with pytest.raises(UserError, match="unknown model 'mine'"):
        resolve_model("mine", Registry())


def test_a_moved_run_is_listed_as_missing_and_named_in_the_error(isolated_home, tmp_path):
    run = _model(tmp_path / "mine")
    invoke("add", run)
    run.rename(tmp_path / "moved")
    assert listed()["mine"]["source"] == "registered, missing"
    with pytest.raises(UserError, match="holds no model any more; `musegen models remove mine`"):
        resolve_model("mine", Registry())


def test_bad_adds_and_removes_are_one_line_errors(isolated_home, tmp_path):
    run = _model(tmp_path / "mine")
    (tmp_path / "empty").mkdir()
    assert invoke("add", run).exit_code == 0
    cases = [
        (("add", tmp_path / "empty"), "is not a musegen model directory"),
        (("add", run), "registered already"),
        (("add", run, "--name", "a/b"), "invalid model name"),
        (("add", run, "--name", "default"), "a model named 'default' exists already"),
        (("remove", "nothing"), "no registered model 'nothing' (registered: mine)"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1
    (isolated_home / "models.json").write_text("{not json")
    result = invoke()
    assert result.exit_code == 2 and "fix or delete it" in result.stderr


def test_commands_take_a_registered_name_for_their_model(isolated_home):
    from musegen_cli.models import bundled_models
    from musegen_cli.registry import get_registry

    default = next(m for m in bundled_models(get_registry()) if m.name == "default")
    assert invoke("add", default.path, "--name", "house").exit_code == 0
    reset_registry()
    result = CliRunner().invoke(app, ["generate", "-m", "house", "--bars", "1", "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "house"
