"""The abc-transformer as a musegen family: registration, conditions, the CLI end to end, scoring."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import pytest
import torch
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.contract import GenerateRequest, TrainRequest
from musegen_cli.errors import UserError
from musegen_cli.registry import Capability, discover, reset_registry

from musegen_plugins.abc_transformer import conditions as cond


def invoke(*args: object):
    reset_registry()
    return CliRunner().invoke(app, [str(a) for a in args])



# ----- registration ----------------------------------------------------------------------------


def test_family_is_registered_through_its_entry_point():
    family = discover(environ={"MUSEGEN_PLUGINS": "abc-transformer"}).get("abc-transformer")
    assert {Capability.TRAINER, Capability.SAMPLER, Capability.CONDITIONS, Capability.LOG_PROBABILITY,
            Capability.PRESETS, Capability.LAYERS} <= family.capabilities
    assert family.supports(Capability.LAYERS)


def test_family_module_imports_without_torch():
    code = ("import sys; import musegen_plugins.abc_transformer.family as f; "
            "print(f.FAMILY.name, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["abc-transformer", "False"], result.stderr


def test_presets_match_the_model_presets():
    from musegen_plugins.abc_transformer.family import FAMILY
    from musegen_plugins.abc_transformer.model import PRESETS

    assert set(FAMILY.presets) == set(PRESETS)


# ----- conditions ------------------------------------------------------------------------------


def test_condition_lines_go_after_x_and_are_stripped_again():
    tune = "X:7\nT:Air\nM:6/8\nK:D\nABc|\n"
    text = cond.with_conditions(tune, {"key": "D", "emotion": "Q4", "tempo": "slow"})
    assert text == "X:1\n%emotion Q4\n%tempo slow\n%key D\nT:Air\nM:6/8\nK:D\nABc|\n"
    assert cond.strip_condition_lines(text) == "X:1\nT:Air\nM:6/8\nK:D\nABc|\n"


def test_labels_become_conditions():
    labels = {"quadrant": "Q3", "mode": "dorian", "register_band": "low", "tempo_band": "medium", "period": "Baroque"}
    assert cond.from_labels(labels, {"M": "3/4"}) == {
        "emotion": "Q3", "mode": "minor", "register": "low", "period": "Baroque", "meter": "3/4"}


def test_contradictions_and_unknown_values_are_user_errors():
    with pytest.raises(UserError, match="emotion Q1 and mode minor contradict"):
        cond.check({"emotion": "Q1", "mode": "minor"})
    assert cond.check({"emotion": "Q3", "mode": "minor"}) == {"emotion": "Q3", "mode": "minor"}
    with pytest.raises(UserError, match="valid values: Q1, Q2, Q3, Q4"):
        cond.check({"emotion": "Q9"})
    with pytest.raises(UserError, match="not trained with the condition 'composer'"):
        cond.check({"composer": "Bach"}, known={})
    with pytest.raises(UserError, match="valid values: D, G"):
        cond.check({"key": "F"}, known={"key": ("D", "G")})


# ----- the command line ------------------------------------------------------------------------


def test_cli_train_then_generate_is_reproducible(cli_model):
    first = invoke("generate", "--model", cli_model, "--emotion", "Q1", "--seed", 3, "--bars", 4, "--device", "cpu")
    again = invoke("generate", "--model", cli_model, "--emotion", "Q1", "--seed", 3, "--bars", 4, "--device", "cpu")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("X:1\n") and "%emotion" not in first.stdout
    assert first.stdout == again.stdout


def test_cli_generate_rejects_unknown_and_contradictory_conditions(cli_model):
    bad = invoke("generate", "--model", cli_model, "--emotion", "Q9", "--seed", 1)
    assert bad.exit_code == 2 and "Q1, Q2, Q3, Q4" in bad.stderr
    clash = invoke("generate", "--model", cli_model, "--emotion", "Q1", "-c", "mode=minor", "--seed", 1)
    assert clash.exit_code == 2 and "contradict" in clash.stderr


def test_generate_continues_a_prime_and_counts(cli_model):
    from musegen_plugins.abc_transformer.inference import load

    model = load(cli_model)
    prime = "X:5\nT:Start\nM:4/4\nK:G\nGABc dedB|"
    pieces = model.generate(GenerateRequest(conditions={"key": "G"}, count=2, seed=0, prime=prime, max_bars=2))
    assert [p.split("\n")[0] for p in pieces] == ["X:1", "X:2"]
    assert all(p.split("\n", 1)[1].startswith("T:Start\nM:4/4\nK:G\nGABc dedB|") and "%key" not in p
               for p in pieces)
    assert cond.prompt({}, "X:1\nK:G\nAB|\n\nX:2\nK:D\nde|\n") == "X:1\nK:G\nAB|\n\n"
    assert "key" in model.known_conditions() and "composer" not in model.known_conditions()


# ----- log-probability -------------------------------------------------------------------------


def test_log_prob_is_finite_and_batching_does_not_change_it(cli_model, essen_tunes):
    from musegen_plugins.abc_transformer.family import FAMILY

    pieces = essen_tunes[:3]
    given = [{"emotion": "Q1"}, {}, {"key": "G", "meter": "4/4"}]
    together = FAMILY.log_probability.log_prob(cli_model, pieces, given)
    alone = [FAMILY.log_probability.log_prob(cli_model, [p], [c])[0] for p, c in zip(pieces, given)]
    assert all(math.isfinite(v) and v < 0 for v in together)
    assert together == pytest.approx(alone, rel=1e-5)


def test_log_prob_prefers_a_training_tune_to_its_shuffled_text(abc_folder, tmp_path):
    from musegen_plugins.abc_transformer.inference import load, log_prob
    from musegen_plugins.abc_transformer.training import load_pieces, train

    torch.set_num_threads(1)
    out = tmp_path / "m"
    train(TrainRequest(data=str(abc_folder), output=out, preset="debug", seed=0, device=torch.device("cpu"),
                       options={"max_steps": 60, "batch_size": 4, "lr": 3e-3, "warmup": 5, "eval_every": 60}),
          lambda f: None)
    tune = load_pieces(str(abc_folder)).train[0].abc
    header, body = tune.split("K:", 1)
    key_line, notes = body.split("\n", 1)
    chars = list(notes)
    random.Random(0).shuffle(chars)
    shuffled = header + "K:" + key_line + "\n" + "".join(chars)
    real, scrambled = log_prob(load(out), [tune, shuffled], [{}, {}])
    assert real > scrambled


def test_a_bundled_model_is_the_default_for_generate(cli_model, monkeypatch, tmp_path):
    import json
    import shutil

    from musegen_plugins.abc_transformer import family

    bundled = tmp_path / "weights"
    shutil.copytree(cli_model, bundled / "default")
    monkeypatch.setattr(family, "BUNDLED_DIR", bundled)
    monkeypatch.setenv("MUSEGEN_PLUGINS", "abc-transformer")  # the family under test (music-encoder bundles a scorer)
    listed = json.loads(invoke("models", "--json").stdout)
    assert {(m["name"], m["family"], m["source"]) for m in listed} == {("default", "abc-transformer", "bundled")}
    result = invoke("generate", "--emotion", "Q1", "--seed", "2", "--bars", "4", "--json")
    assert result.exit_code == 0, result.output
    (piece,) = json.loads(result.stdout)["pieces"]
    assert piece["abc"].startswith("X:1") and "parses" in piece["features"]
    out = tmp_path / "out"
    files = invoke("generate", "--emotion", "Q2", "-n", "2", "--seed", "2", "--bars", "4", "-o", out, "--format", "abc,midi")
    assert files.exit_code == 0, files.output
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == "piece-001.abc" and "piece-002.abc" in names
    assert all(name.endswith((".abc", ".mid")) for name in names)


def test_stream_yields_the_header_then_bars_and_matches_generate(cli_model):
    from musegen_cli.contract import GenerateRequest
    from musegen_plugins.abc_transformer.conditions import strip_condition_lines
    from musegen_plugins.abc_transformer.inference import load

    model = load(cli_model)
    request = GenerateRequest(conditions={"emotion": "Q1"}, count=1, seed=4, max_bars=4)
    fragments = [text for _row, text in model.stream(request)]
    assert fragments[0].startswith("X:1\n") and "%emotion" not in fragments[0]
    assert len(fragments) > 2
    assert model.generate(request) == [strip_condition_lines("".join(fragments))]


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_generate_samples_with_reduced_precision(cli_model, precision):
    result = invoke("generate", "--model", cli_model, "--emotion", "Q2", "--seed", 1, "--bars", 2,
                    "--precision", precision, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pieces"][0]["abc"].startswith("X:1\n")


def test_compile_is_refused_with_steering(cli_model, tmp_path):
    steered = invoke("generate", "--model", cli_model, "--compile", "--direction", tmp_path, "--seed", 1)
    assert steered.exit_code == 2 and "--compile cannot be combined with --direction" in steered.stderr


def test_an_unknown_precision_is_a_user_error(cli_model):
    result = invoke("generate", "--model", cli_model, "--precision", "fp8", "--seed", 1)
    assert result.exit_code == 2 and "valid values: fp32, bf16, int8" in result.stderr
