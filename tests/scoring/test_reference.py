"""Reference sets: scores against them, feature files, version checks."""

from __future__ import annotations

import pytest
import torch

from musegen_cli.errors import UserError
from musegen_cli.scoring import reference as ref


class LetterEmbedder:
    """A stand-in scorer: the normalised letter histogram of a piece's text."""

    version = "letters-1"

    def embed_pieces(self, pieces, batch_size=64, on_progress=None):
        rows = torch.zeros(len(pieces), 26)
        for i, text in enumerate(pieces):
            for char in text.lower():
                if "a" <= char <= "z":
                    rows[i, ord(char) - 97] += 1
        if on_progress:
            on_progress(len(pieces))
        return torch.nn.functional.normalize(rows, dim=1)


@pytest.fixture()
def folk() -> ref.ReferenceSet:
    pieces = [("a", "aaab"), ("b", "abbb"), ("c", "ccccd")]
    return ref.embed_reference(pieces, LetterEmbedder(), "test set")


def test_reference_score_is_the_cosine_to_the_centroid(folk):
    queries = LetterEmbedder().embed_pieces(["ab", "zz"])
    scores = ref.reference_scores(queries, folk)
    centroid = folk.embeddings.mean(0)
    expected = torch.nn.functional.cosine_similarity(queries, centroid[None], dim=1)
    torch.testing.assert_close(scores, expected)
    assert scores[0] > scores[1] and scores[1] == 0


def test_nearest_names_the_closest_single_piece(folk):
    best, names = ref.nearest(LetterEmbedder().embed_pieces(["aaab", "cccd", "abbb b"]), folk)
    assert names == ["a", "c", "b"]
    assert best[0] == pytest.approx(1.0) and best[1] < 1.0


def test_text_scores_accept_one_vector():
    embeddings = torch.eye(3)
    assert ref.text_scores(embeddings, torch.tensor([[0.0, 1.0, 0.0]])).tolist() == [0.0, 1.0, 0.0]


def test_feature_files_round_trip_and_refuse_other_scorers(folk, tmp_path):
    path = tmp_path / "folk.safetensors"
    ref.save_features(folk, path)
    again = ref.load_features(path)
    assert again.names == folk.names and again.source == "test set"
    torch.testing.assert_close(again.embeddings, folk.embeddings)
    again.check_version(LetterEmbedder())
    other = LetterEmbedder()
    other.version = "letters-2"
    with pytest.raises(UserError, match="scorer version letters-1"):
        again.check_version(other)


def test_bad_feature_files_and_empty_sets_are_user_errors(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(UserError, match="not a musegen feature file"):
        ref.load_features(junk)
    with pytest.raises(UserError, match="cannot read"):
        ref.load_features(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    other = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(UserError, match="not a musegen feature file"):
        ref.load_features(other)
    with pytest.raises(UserError, match="holds no pieces"):
        ref.embed_reference([], LetterEmbedder(), "empty folder")
