"""Conformance tests every installed model family must pass (the design's contract, section 3).

Parametrized over the families the registry discovers through entry points, so a new plugin
is tested the moment it is installed. Checks that need a model run on each model the family
bundles; a family that bundles none is skipped there, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from musegen_cli.contract import GenerateRequest
from musegen_cli.registry import Capability, ModelFamily, discover

FAMILIES = discover(environ={}).families
REEL = "X:1\nM:4/4\nL:1/8\nK:D\n|:A2FA DAFA|B2GB dBGB|A2FA DAFA|GBAG FDD2:|\n"

#: The method each capability slot must offer.
SLOT_METHODS = {
    Capability.TRAINER: ("trainer", "train"),
    Capability.SAMPLER: ("sampler", "load"),
    Capability.LOG_PROBABILITY: ("log_probability", "log_prob"),
    Capability.LAYERS: ("layers", "names"),
}


def _family_ids() -> list[str]:
    return sorted(FAMILIES)


@pytest.fixture(params=_family_ids())
def family(request) -> ModelFamily:
    return FAMILIES[request.param]


def _bundled(family: ModelFamily) -> dict[str, Path]:
    return dict(family.bundled_models()) if family.bundled_models else {}


def _samples(name: str) -> bool:
    return FAMILIES[name].supports(Capability.SAMPLER)


@pytest.fixture(params=[(f, m) for f in _family_ids() if _samples(f) for m in _bundled(FAMILIES[f])] or [None],
                ids=lambda p: "none" if p is None else f"{p[0]}:{p[1]}", scope="module")
def bundled(request) -> Iterator[tuple[ModelFamily, object]]:
    if request.param is None:
        pytest.skip("no installed family bundles a model")
    name, model = request.param
    chosen = FAMILIES[name]
    yield chosen, chosen.sampler.load(_bundled(chosen)[model], "cpu")


def test_at_least_the_built_in_family_is_installed():
    assert "abc-transformer" in FAMILIES


def test_metadata_and_capability_slots(family):
    assert family.name and family.description and family.version
    for capability, (slot, method) in SLOT_METHODS.items():
        if family.supports(capability):
            assert callable(getattr(getattr(family, slot), method, None)), f"{slot} lacks {method}()"


def test_trainers_come_with_a_debug_preset(family):
    if family.supports(Capability.TRAINER):
        assert "debug" in family.presets, "a family that trains needs a `debug` preset for fast tests"
    assert all(isinstance(summary, str) and summary for summary in family.presets.values())


def test_conditions_are_well_formed(family):
    names = [c.name for c in family.conditions]
    assert len(names) == len(set(names))
    for condition in family.conditions:
        assert condition.description
        assert condition.values is None or (condition.values and all(isinstance(v, str) for v in condition.values))


def test_bundled_models_are_model_directories(family):
    for name, path in _bundled(family).items():
        assert (Path(path) / "musegen.json").is_file() and (Path(path) / "model.safetensors").is_file(), name


def test_declared_features_match_the_slots(family):
    features = family.features
    assert features.output in ("abc", "audio") and features.layer_input in ("abc", "audio")
    assert "fp32" in features.precisions
    log_probability = family.log_probability
    assert features.training_log_prob == callable(getattr(log_probability, "training_log_prob", None))
    assert features.preference_training == all(callable(getattr(log_probability, name, None))
                                                for name in ("sequence_log_probs", "trainable", "save"))
    if family.supports(Capability.TRAINER):
        assert features.train_options is getattr(family.trainer, "options", None)
    if not family.supports(Capability.SAMPLER):
        assert not (features.streams or features.compiled_steps or features.element_transfer)


def test_bundled_models_keep_what_their_family_declares(bundled):
    from musegen_cli.contract import Transfers
    from musegen_cli.generation import can_stream

    family, model = bundled
    assert can_stream(model) == family.features.streams
    assert isinstance(model, Transfers) == family.features.element_transfer


def test_bundled_models_generate_under_every_declared_condition_value(bundled):
    family, model = bundled
    requests = [{}] + [{c.name: c.values[0]} for c in family.conditions if c.values]
    for conditions in requests:
        pieces = model.generate(GenerateRequest(conditions=conditions, count=2, seed=1, max_bars=2))
        assert len(pieces) == 2 and all(isinstance(p, str) and p for p in pieces), conditions


def test_bundled_models_give_finite_log_probabilities(bundled):
    family, model = bundled
    if not family.supports(Capability.LOG_PROBABILITY):
        pytest.skip(f"{family.name} has no log-probability capability")
    (value,) = family.log_probability.log_prob(model, [REEL], [{}])
    assert math.isfinite(value) and value < 0


def test_bundled_models_expose_their_layers(bundled):
    family, model = bundled
    if not family.supports(Capability.LAYERS):
        pytest.skip(f"{family.name} has no layers capability")
    names = family.layers.names(model)
    captured = family.layers.capture(model, [REEL, REEL[:-20] + "\n"], None)
    assert names and list(captured) == names
    assert all(values.shape[0] == 2 and values.ndim == 2 for values in captured.values())


def _importable() -> list[tuple[str, str]]:
    return [(f, source) for f in _family_ids() for source in FAMILIES[f].importers]


@pytest.fixture(params=_importable() or [None], ids=lambda p: "none" if p is None else f"{p[0]}:{p[1]}",
                scope="module")
def imported(request, tmp_path_factory) -> Iterator[tuple[ModelFamily, str, object]]:
    """A tiny random checkpoint in each importable source's layout, imported and loaded."""
    if request.param is None:
        pytest.skip("no installed family imports checkpoints")
    name, source = request.param
    if name != "abc-transformer":
        pytest.skip(f"no reference checkpoint builder for {name}'s {source} importer in these tests")
    from musegen_cli.model_import import import_checkpoint
    from tests.plugins.abc_transformer import source_reference as ref

    folder = tmp_path_factory.mktemp(source)
    shape = ref.Shape(16 if source == "notagen" else 32, 64, 2, 1, 48)
    checkpoint = ref.save_checkpoint(ref.build(source, shape), folder / "weights.pth")
    import_checkpoint(checkpoint, source, folder / "model", discover(environ={}))
    family = FAMILIES[name]
    yield family, source, family.sampler.load(folder / "model", "cpu")


def test_imported_models_generate_under_their_conditions(imported):
    family, _, model = imported
    known = model.known_conditions()
    requests = [{}]
    if known:  # conditions whose valid values the model lists: one valid combination
        requests.append({"period": "Classical", "composer": "Mozart, Wolfgang Amadeus", "instrumentation": "Keyboard"})
    else:
        requests += [{c.name: v} for c in family.conditions if c.name == "emotion" for v in c.values]
    for conditions in requests:
        pieces = model.generate(GenerateRequest(conditions=conditions, count=2, seed=1, max_bars=2))
        assert len(pieces) == 2 and all(p.startswith("X:1\n") for p in pieces), conditions


def test_imported_models_score_steer_and_train_like_any(imported, tmp_path):
    import torch

    family, _, model = imported
    (value,) = family.log_probability.log_prob(model, [REEL], [{}])
    assert math.isfinite(value) and value < 0
    scores = family.log_probability.sequence_log_probs(model, [REEL], [{}])
    scores.sum().backward()  # dpo trains the loaded model's own parameters
    assert any(p.grad is not None for p in family.log_probability.trainable(model).parameters())
    saved = family.log_probability.save(model, tmp_path / "saved", {}, {})
    again = family.sampler.load(saved, "cpu")
    assert family.log_probability.log_prob(again, [REEL], [{}]) == pytest.approx([value], rel=1e-5)
    names = family.layers.names(model)
    captured = family.layers.capture(model, [REEL], None)
    assert list(captured) == names
    request = GenerateRequest(conditions={}, count=1, seed=4, max_bars=2)
    plain = model.generate(request)
    push = {layer: torch.randn(values.shape[1], generator=torch.Generator().manual_seed(0)) * 3
            for layer, values in captured.items()}  # not constant: LayerNorm would cancel a constant shift
    with family.layers.steer(model, lambda layer, step: push[layer]):
        steered = model.generate(request)
    assert steered != plain
