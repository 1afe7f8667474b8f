"""The musicgen family on a tiny random MusicGen built offline (the ``debug`` preset)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from musegen_cli.analysis import audio
from musegen_cli.analysis.wav import read_wav, wav_bytes
from musegen_cli.contract import GenerateRequest
from musegen_cli.errors import UserError
from musegen_cli.evolution.genomes import EmbeddingGenome


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from musegen_plugins.musicgen.debug import write_debug_model

    return write_debug_model(tmp_path_factory.mktemp("musicgen") / "tiny")


@pytest.fixture(scope="module")
def model(model_dir):
    from musegen_plugins.musicgen.family import FAMILY

    return FAMILY.sampler.load(model_dir, "cpu")


def _request(seed: int = 1, count: int = 1, **sampling: float) -> GenerateRequest:
    return GenerateRequest({"text": "calm piano"}, count, seed, sampling={"duration": 0.3, **sampling})


def test_family_module_imports_without_torch():
    code = ("import sys; import musegen_plugins.musicgen.family; "
            "print(','.join(m for m in ('torch', 'transformers', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == ""


def test_loads_offline_from_a_saved_folder(model_dir, model):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1" and model.output_kind == "audio"
    assert (model_dir / "model.safetensors").is_file() and model.known_conditions() == {}


def test_absent_weights_are_a_one_line_error_naming_what_to_put_where(tmp_path, monkeypatch):
    from musegen_plugins.musicgen import weights
    from musegen_plugins.musicgen.inference import load

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    weights.write_manifest(tmp_path / "m", "facebook/musicgen-small")
    with pytest.raises(UserError) as caught:
        load(tmp_path / "m")
    message = str(caught.value)
    assert "\n" not in message and "config.json" in message and "facebook/musicgen-small" in message
    assert "never downloads" in message


def test_generates_wavs_of_the_asked_duration_reproducibly(model):
    first = model.generate(_request(seed=3, count=2))
    samples, rate = read_wav(first[0])
    assert len(first) == 2 and rate == model.sample_rate and len(samples) == round(0.3 * rate)
    assert model.generate(_request(seed=3, count=2)) == first
    assert model.generate(_request(seed=4, count=2)) != first


def test_capture_pools_every_decoder_layer(model, tmp_path):
    from musegen_plugins.musicgen.family import FAMILY

    clips = []
    for index, hz in enumerate((220.0, 330.0, 440.0)):
        path = tmp_path / f"{index}.wav"
        path.write_bytes(wav_bytes(0.3 * np.sin(2 * np.pi * hz * np.arange(3000) / 16000), 16000))
        clips.append(str(path))
    names = FAMILY.layers.names(model)
    for pooling in ("mean", "last"):
        captured = FAMILY.layers.capture(model, clips, None, pooling)
        assert list(captured) == names == ["decoder.0", "decoder.1"]
        assert all(v.shape == (3, 16) and torch.isfinite(v).all() for v in captured.values())


def test_steering_changes_the_audio_and_removes_its_hooks(model):
    from musegen_plugins.musicgen.family import FAMILY

    plain = model.generate(_request())
    vector = torch.randn(16, generator=torch.Generator().manual_seed(0)) * 5
    steps: list[int] = []

    def add(layer: str, step: int):
        steps.append(step)
        return vector

    with FAMILY.layers.steer(model, add, ["decoder.0"]):
        steered = model.generate(_request())
    assert steered != plain and max(steps) >= 29 and min(steps) == 0
    layers = model.model.decoder.model.decoder.layers
    assert not layers[0]._forward_hooks and not model.model.decoder.model.decoder._forward_pre_hooks
    assert model.generate(_request()) == plain


@pytest.mark.parametrize("as_tuple", [False, True])
def test_hooks_handle_tensor_and_tuple_layer_outputs(as_tuple):
    from musegen_plugins.musicgen.layers import _recorder, adder

    class Fake(torch.nn.Module):  # a transformers 5.x layer returns a tensor, 4.x a tuple
        def forward(self, x):
            return (x * 2, "cache") if as_tuple else x * 2

    layer, seen = Fake(), {}
    layer.register_forward_hook(adder("decoder.0", lambda name, step: torch.ones(3), [0]))
    layer.register_forward_hook(_recorder(seen, "decoder.0"))
    out = layer(torch.zeros(1, 2, 3))
    hidden = out[0] if as_tuple else out
    assert torch.equal(hidden, torch.ones(1, 2, 3)) and torch.equal(seen["decoder.0"], hidden)
    assert (out[1] == "cache") if as_tuple else isinstance(out, torch.Tensor)


def test_embedding_genome_round_trip_and_generation(model):
    from musegen_plugins.musicgen.family import FAMILY

    base = FAMILY.conditioning_vector.initial(model, "calm piano")
    genome = EmbeddingGenome(base, bound=3.0)
    assert genome.length == base.numel() and genome.bounds == (-3.0, 3.0)
    assert torch.allclose(genome.decode(torch.zeros(genome.length)).embedding, base)
    values = torch.linspace(-1, 1, genome.length)
    assert torch.allclose(genome.encode(genome.decode(values).embedding), values, atol=1e-4)
    from_text = model.generate(_request())
    assert FAMILY.conditioning_vector.generate(model, base, _request()) == from_text


def test_clipping_scores_worse_than_a_clean_sine():
    rate = 16000
    t = np.arange(rate) / rate
    clean = audio.artifacts(0.5 * np.sin(2 * np.pi * 440 * t), rate)
    clipped = audio.artifacts(np.clip(3 * np.sin(2 * np.pi * 440 * t), -1, 1), rate)
    noisy = audio.artifacts(np.random.default_rng(0).normal(0, 0.2, rate), rate)
    assert clean.penalty < 0.01 < clipped.penalty and noisy.hf_noise > 0.5
    assert audio.artifacts(0.5 * np.sin(2 * np.pi * 440 * t) + 0.2, rate).dc_offset > 0.5


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_tempo_of_a_click_track(bpm):
    rate = 16000
    x = np.zeros(rate * 6)
    click = np.sin(2 * np.pi * 1000 * np.arange(200) / rate) * np.exp(-np.arange(200) / 50)
    for start in range(0, len(x) - 200, int(rate * 60 / bpm)):
        x[start : start + 200] += click
    assert audio.tempo_bpm(x, rate) == pytest.approx(bpm, rel=0.03)


def test_notes_of_a_two_note_melody():
    rate = 16000
    t = np.arange(rate // 2) / rate
    melody = np.concatenate([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 523.25 * t)])
    assert [n.pitch for n in audio.notes(melody, rate)] == [69, 72]


def _musegen(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "MUSEGEN_PLUGINS": "abc-transformer,musicgen"}
    return subprocess.run([sys.executable, "-m", "musegen_cli", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_cli_generate_steer_fit_and_evolve_end_to_end(model_dir, tmp_path):
    out = tmp_path / "out"
    result = _musegen("generate", "-m", str(model_dir), "--text", "calm piano", "--duration", "0.3", "-n", "2",
                      "-o", str(out), "--seed", "2", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["files"]) == 2 and report["pieces"][0]["duration"] == pytest.approx(0.3)
    refused = _musegen("generate", "-m", str(model_dir), "--text", "calm", "--format", "midi", "-o", str(out))
    assert refused.returncode == 2 and "only wav" in refused.stderr

    rate, rng = 8000, np.random.default_rng(0)
    for label, hz in (("low", 150.0), ("high", 900.0)):
        (tmp_path / label).mkdir()
        for index in range(8):
            tone = 0.4 * np.sin(2 * np.pi * hz * (1 + 0.05 * index) * np.arange(2400) / rate)
            (tmp_path / label / f"{index}.wav").write_bytes(wav_bytes(tone + rng.normal(0, 0.01, 2400), rate))
    directions = tmp_path / "directions"
    fitted = _musegen("steer", "fit", "-m", str(model_dir), "--folder", f"low={tmp_path / 'low'}",
                      "--folder", f"high={tmp_path / 'high'}", "--rounds", "1", "-o", str(directions), "--seed", "1")
    assert fitted.returncode == 0, fitted.stderr
    steered = _musegen("steer", "generate", "-m", str(model_dir), "--text", "calm", "--duration", "0.3",
                       "--direction", f"{directions},strength=2,schedule=exp-decay,probability=0.5",
                       "-o", str(tmp_path / "steered"), "--seed", "2")
    assert steered.returncode == 0, steered.stderr
    assert (tmp_path / "steered" / "piece-001.wav").read_bytes() != (out / "piece-001.wav").read_bytes()

    config = tmp_path / "evolve.toml"
    config.write_text("population = 2\ngenerations = 2\nduration = 0.2\n")
    evolved = _musegen("evolve", "-m", str(model_dir), "--genome", "embedding", "--text", "calm piano",
                       "--fitness", "audio", "--target", "100", "--config", str(config), "-o", str(tmp_path / "evo"),
                       "--seed", "1", "--json")
    assert evolved.returncode == 0, evolved.stderr
    summary = json.loads(evolved.stdout)
    assert summary["files"] and all(f.endswith(".wav") for f in summary["files"])


def test_benchmark_says_it_skipped_without_local_weights(tmp_path, monkeypatch, capsys):
    from tests.benchmarks import load_benchmark

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    module = load_benchmark("musicgen")
    assert module.main(["--source", "facebook/musicgen-small"]) == 0
    assert capsys.readouterr().out.startswith("skipped: no local weights for facebook/musicgen-small")


def test_benchmark_measures_a_local_model_folder(model_dir, capsys):
    """The path that runs when weights are present: load, generate, measure every clip."""
    from tests.benchmarks import load_benchmark

    module = load_benchmark("musicgen")
    assert module.main(["--source", str(model_dir), "--duration", "0.2", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{model_dir} on cpu: load ")
    assert lines[1].split() == ["clip", "artifacts", "tempo", "notes"]
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == ["1", "2"]
    assert all(float(row[1]) >= 0 and int(row[3]) >= 0 for row in rows)
