"""Generating with a trained debug model, element transfer, and the family's registration."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from musegen_cli.analysis.features import analyze_abc
from musegen_cli.cli.generate import transfer_pieces, transfer_spec
from musegen_cli.contract import GenerateRequest
from musegen_cli.errors import UserError
from musegen_plugins.muser import tokens
from musegen_plugins.muser.family import FAMILY, PRESET_SUMMARIES
from musegen_plugins.muser.inference import load, swap_elements
from musegen_plugins.muser.model import PRESETS


@pytest.fixture(scope="module")
def model(trained):
    return load(trained)


def test_generate_returns_parseable_music_for_each_quadrant(model):
    for quadrant in ("Q1", "Q2", "Q3", "Q4"):
        pieces = model.generate(GenerateRequest(conditions={"emotion": quadrant}, count=2, seed=5))
        assert len(pieces) == 2
        for abc in pieces:
            features = analyze_abc(abc)
            assert features.parses and features.notes, abc


def test_generation_is_seeded_and_stops_after_the_bars_asked_for(model):
    request = GenerateRequest(conditions={}, count=2, seed=9, max_bars=2)
    first = model.generate_midi(request)
    assert first == model.generate_midi(request)
    for midi in first:
        assert len(tokens.bar_starts(tokens.encode_midi(midi))) <= 2


def test_bad_requests_are_user_errors(model):
    with pytest.raises(UserError, match="emotion"):
        model.generate(GenerateRequest(conditions={"emotion": "Q5"}, count=1, seed=0))
    with pytest.raises(UserError, match="prime"):
        model.generate(GenerateRequest(conditions={}, count=1, seed=0, prime="X:1\nK:C\nC|\n"))


def test_swap_replaces_only_the_chosen_sub_spaces():
    source, donor = torch.zeros(5, 4, dtype=torch.long), torch.ones(5, 4, dtype=torch.long)
    mixed = swap_elements(source, donor, ["velocity", "pitch"])
    columns = [tokens.ELEMENTS.index("pitch"), tokens.ELEMENTS.index("velocity")]
    assert (mixed[:, columns] == 1).all() and mixed.sum() == 10 and (source == 0).all()


def test_transfer_decodes_the_swapped_codes(model, corpus_midi):
    source, donor = corpus_midi[0].read_bytes(), corpus_midi[1].read_bytes()
    a, b = model.encode_rows(tokens.encode_midi(source)), model.encode_rows(tokens.encode_midi(donor))
    assert a.shape == (model.config.latent_len, len(tokens.ELEMENTS))
    request = GenerateRequest(conditions={}, count=1, seed=4, sampling={"temperature": 0.0})
    # taking every element is decoding the donor's own codes
    every = model.transfer_midi(source, donor, list(tokens.ELEMENTS), request)
    own = model.decode_codes(b[None], request.sampling, torch.Generator().manual_seed(4))
    assert every == [tokens.decode_midi(own[0])]
    abc = model.transfer(corpus_midi[0], corpus_midi[1], ["pitch"], request)
    assert analyze_abc(abc[0]).parses
    with pytest.raises(UserError, match="cannot take element 'melody'"):
        model.transfer_midi(source, donor, ["melody"], request)


def test_generate_cli_parses_transfer_flags_and_refuses_families_without_transfer(tmp_path):
    assert transfer_spec(None, None, None) is None
    assert transfer_spec(tmp_path / "a.mid", "pitch, velocity", tmp_path / "b.mid")[1] == ["pitch", "velocity"]
    with pytest.raises(UserError, match="--of"):
        transfer_spec(tmp_path / "a.mid", "pitch", None)
    with pytest.raises(UserError, match="cannot transfer elements"):
        transfer_pieces(FAMILY, object(), GenerateRequest(conditions={}, count=1, seed=0),
                        (tmp_path / "a.mid", ["pitch"], tmp_path / "b.mid"))


def test_family_presets_match_the_model_presets_and_import_without_torch():
    assert set(PRESET_SUMMARIES) == set(PRESETS)
    code = ("import sys, musegen_plugins.muser.family as f; "
            "print(f.FAMILY.name, 'torch' in sys.modules, 'miditok' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["muser", "False", "False"], result.stderr
