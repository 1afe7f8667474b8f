"""The music encoder and the Scorer API: shapes, normalisation, cropping, batching invariance,
masked-patch loss, save/load and bad folders."""

from __future__ import annotations

import json
import pickle
import random

import pytest
import torch

from musegen_cli.errors import UserError
from musegen_cli.notation.abc_patches import decode, encode
from musegen_cli.notation.patch_batches import collate
from musegen_cli.scoring.music_encoder import piece_patches
from musegen_cli.scoring.scorer import QUADRANTS, build_scorer, load_scorer, save_scorer


@pytest.fixture(scope="module")
def scorer():
    return build_scorer("debug", seed=0)


def test_embeddings_are_unit_vectors_of_the_scorer_size(scorer, tunes) -> None:
    pieces = [*tunes, "", "not ABC at all \x00 ünïcödé"]
    out = scorer.embed_pieces(pieces)
    assert out.shape == (len(pieces), scorer.dim) and out.dtype == torch.float32
    assert torch.allclose(out.norm(dim=1), torch.ones(len(pieces)), atol=1e-5)
    text = scorer.embed_texts(["a sad tune", ""])
    assert text.shape == (2, scorer.dim)
    assert torch.allclose(text.norm(dim=1), torch.ones(2), atol=1e-5)


def test_a_piece_alone_and_in_a_batch_embeds_the_same(scorer, tunes) -> None:
    short = "X:1\nK:G\nGABc|d2|\n"
    alone = scorer.embed_pieces([short])
    batch = scorer.embed_pieces([tunes[0], short, tunes[2] * 3], batch_size=3)
    assert torch.allclose(alone[0], batch[1], atol=1e-5)
    in_small_batches = scorer.embed_pieces([tunes[0], short, tunes[2] * 3], batch_size=1)
    assert torch.allclose(batch, in_small_batches, atol=1e-5)


def test_progress_reports_pieces_done(scorer, tunes) -> None:
    done: list[int] = []
    scorer.embed_pieces(tunes * 3, batch_size=4, on_progress=done.append)
    assert done == [4, 8, 9]


def test_long_pieces_keep_header_and_start_of_body() -> None:
    body = "ABcd efga|" * 200
    text = f"X:1\nT:Long\nM:4/4\nK:D\n{body}\n"
    patches = piece_patches(text, 16, 32)
    assert len(patches) == 32
    assert decode(patches).startswith("X:1\nT:Long\nM:4/4\nK:D\nABcd efga|")
    cropped = piece_patches(text, 16, 32, random.Random(1))
    assert len(cropped) == 32 and decode(cropped).startswith("X:1\nT:Long\nM:4/4\nK:D\n")
    assert piece_patches("X:1\nK:C\nC|\n", 16, 32) == encode("X:1\nK:C\nC|\n", 16)


def test_masked_patch_loss_is_finite_and_trains(tunes) -> None:
    scorer = build_scorer("debug", seed=1)
    model = scorer.net.music.train()
    ids, mask = collate([piece_patches(t, 16, 64) for t in tunes])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for step in range(30):
        loss = model.masked_patch_loss(ids, mask, 0.4, torch.Generator().manual_seed(step % 3))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    assert all(map(torch.isfinite, torch.tensor(losses)))
    assert sum(losses[-5:]) < sum(losses[:5]) * 0.8


def test_emotion_probs_are_distributions_over_the_quadrants(scorer, tunes) -> None:
    probs = scorer.emotion_probs(scorer.embed_pieces(tunes))
    assert QUADRANTS == ("Q1", "Q2", "Q3", "Q4")
    assert probs.shape == (3, 4) and torch.allclose(probs.sum(1), torch.ones(3), atol=1e-5)


def test_save_and_load_give_identical_embeddings(scorer, tunes, tmp_path) -> None:
    save_scorer(scorer, tmp_path / "s", {"data": "test"}, {"top5": 0.5})
    manifest = json.loads((tmp_path / "s" / "musegen.json").read_text())
    assert manifest["family"] == "music-encoder" and manifest["schema_version"] == 1
    assert manifest["provenance"]["command"] and manifest["provenance"]["version"] == scorer.version
    assert manifest["metrics"] == {"top5": 0.5}
    loaded = load_scorer(tmp_path / "s")
    assert loaded.version == scorer.version and loaded.dim == scorer.dim and loaded.config == scorer.config
    assert torch.equal(loaded.embed_pieces(tunes), scorer.embed_pieces(tunes))
    assert torch.equal(loaded.embed_texts(["fast"]), scorer.embed_texts(["fast"]))


def test_versions_differ_between_weights() -> None:
    assert build_scorer("debug", seed=0).version == build_scorer("debug", seed=0).version
    assert build_scorer("debug", seed=0).version != build_scorer("debug", seed=1).version


def test_folders_that_are_not_scorers_are_user_errors(scorer, tmp_path) -> None:
    with pytest.raises(UserError, match="not a musegen model directory"):
        load_scorer(tmp_path)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(UserError, match="is a file"):
        load_scorer(pickled)
    other = tmp_path / "other"
    other.mkdir()
    (other / "musegen.json").write_text(json.dumps({"family": "abc-transformer", "schema_version": 1, "config": {}}))
    with pytest.raises(UserError, match="not a scorer"):
        load_scorer(other)
    fake = tmp_path / "fake"
    save_scorer(scorer, fake, {}, {})
    (fake / "model.safetensors").write_bytes(pickle.dumps({"weights": 1}))  # a pickle in disguise
    with pytest.raises(UserError, match="safetensors"):
        load_scorer(fake)
    with pytest.raises(UserError, match="unknown scorer preset"):
        build_scorer("huge")


def test_a_missing_default_scorer_is_a_user_error(monkeypatch, tmp_path) -> None:
    from musegen_cli.scoring import scorer as module

    monkeypatch.setattr(module, "DEFAULT_PATH", tmp_path / "nothing")
    with pytest.raises(UserError, match="no default scorer"):
        load_scorer()
