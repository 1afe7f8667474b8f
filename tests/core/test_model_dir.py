import json

import pytest
import torch

from musegen_cli.errors import UserError
from musegen_cli.model_dir import MANIFEST, WEIGHTS, load_weights, read_manifest, write_model_dir
from musegen_cli.models import list_models, resolve_model
from musegen_cli.registry import Registry


def test_round_trip(tmp_path):
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    write_model_dir(tmp_path / "m", family="fam", config={"hidden": 8}, state_dict=state, metrics={"bpc": 1.5})
    manifest = read_manifest(tmp_path / "m")
    assert manifest["family"] == "fam" and manifest["config"] == {"hidden": 8}
    assert torch.equal(load_weights(tmp_path / "m")["w"], state["w"])


def test_pickled_weights_are_refused(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps({"family": "fam", "schema_version": 1}))
    torch.save({"w": torch.zeros(1)}, tmp_path / WEIGHTS)  # a pickle under the safetensors name
    with pytest.raises(UserError, match="not a readable safetensors file"):
        load_weights(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"schema_version": 1}', "does not name a model family"),
        ('{"family": "x", "schema_version": 99}', "upgrade musegen"),
    ],
)
def test_bad_manifests(tmp_path, content, message):
    (tmp_path / MANIFEST).write_text(content)
    with pytest.raises(UserError, match=message):
        read_manifest(tmp_path)


def test_user_models_are_found_by_name(isolated_home):
    write_model_dir(isolated_home / "models" / "mine", family="fam", config={}, state_dict={"w": torch.zeros(2)})
    (model,) = list_models(Registry())
    assert (model.name, model.family, model.source) == ("mine", "fam", "user")
    assert resolve_model("mine", Registry()).path == isolated_home / "models" / "mine"
    with pytest.raises(UserError, match=r"unknown model 'other'.*\(mine\)"):
        resolve_model("other", Registry())
