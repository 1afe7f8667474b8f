"""A test family: the abc-transformer's log-probabilities and training, with sampling replaced
by seeded draws from a fixed pool of real tunes (a random debug model writes no parseable ABC,
and writes it slowly), so the dpo loop and CLI run end to end in seconds."""

from __future__ import annotations

import json
import random
from pathlib import Path

from musegen_cli.contract import Features
from musegen_cli.registry import ModelFamily

NAME = "canned-abc"
POOL = [
    "X:1\nT:Canned\nM:2/4\nL:1/8\nK:G\nGA|B2 AG|FG A2|B2 AG|G4|]\n",
    "X:1\nT:Canned\nM:3/4\nL:1/4\nK:D\nF|A2 F|E2 D|F G A|d3|]\n",
    "X:1\nT:Canned\nM:4/4\nL:1/8\nK:Am\nA2 cB A2 E2|c2 BA G4|A2 cB A2 E2|A8|]\n",
    "X:1\nT:Canned\nM:6/8\nL:1/8\nK:F\nc|A2 F G2 E|F3 F2|]\n",
    "X:1\nT:Canned\nM:4/4\nL:1/8\nV:1\nV:2\nK:C\nV:1\nC2 D2 E2 F2|G8|]\nV:2\nC,2 D,2 E,2 F,2|G,8|G,8|]\n",  # voices disagree
    "X:1\nT:Canned\nK:C\n%% no music at all\n",  # no notes
]


class CannedModel:
    def __init__(self, inner) -> None:
        self.inner = inner

    def generate(self, request) -> list[str]:
        rng = random.Random(request.seed)
        return [rng.choice(POOL) for _ in range(request.count)]

    def known_conditions(self) -> dict:
        return {}


def _load_inner(path: Path, device):
    from musegen_cli.model_dir import load_weights, read_manifest
    from musegen_plugins.abc_transformer.inference import AbcModel
    from musegen_plugins.abc_transformer.model import AbcTransformer, ModelConfig

    manifest = read_manifest(Path(path))
    net = AbcTransformer(ModelConfig(**manifest["config"]["model"]))
    net.load_state_dict(load_weights(Path(path)))
    inner = AbcModel(net.to(device), manifest["config"].get("conditions", {}))
    inner.manifest_config = manifest["config"]
    return inner


class Sampler:
    def load(self, path, device="cpu"):
        return CannedModel(_load_inner(path, device))


class LogProbability:
    def log_prob(self, model, pieces, conditions):
        from musegen_plugins.abc_transformer.inference import log_prob

        return log_prob(model.inner, pieces, conditions)

    def trainable(self, model):
        return model.inner.model

    def sequence_log_probs(self, model, pieces, conditions):
        from musegen_plugins.abc_transformer.inference import sequence_log_probs

        return sequence_log_probs(model.inner, pieces, conditions)

    def save(self, model, folder, provenance, metrics):
        from musegen_plugins.abc_transformer.inference import save

        save(model.inner, folder, provenance, metrics)
        retag(Path(folder))
        return Path(folder)


def retag(folder: Path) -> None:
    manifest = json.loads((folder / "musegen.json").read_text())
    (folder / "musegen.json").write_text(json.dumps({**manifest, "family": NAME}))


def make_model(folder: Path, family: str = NAME) -> Path:
    """A random-weight debug abc-transformer saved as a model directory of `family`."""
    import torch

    from musegen_plugins.abc_transformer.inference import AbcModel, save
    from musegen_plugins.abc_transformer.model import PRESETS, AbcTransformer

    torch.manual_seed(0)
    save(AbcModel(AbcTransformer(PRESETS["debug"]), {}), folder, {}, {})
    if family == NAME:
        retag(folder)
    return folder


def family() -> ModelFamily:
    from musegen_plugins.abc_transformer.conditions import CONDITIONS

    return ModelFamily(name=NAME, description="test family", sampler=Sampler(), conditions=CONDITIONS,
                       log_probability=LogProbability(), features=Features(preference_training=True))
