"""Nearest-reference similarity: the definition, and the index agreeing with it."""

from __future__ import annotations

import json
import random

import pytest

from musegen_cli.scoring.similarity import (
    COPY_THRESHOLD,
    SimilarityIndex,
    dataset_pieces,
    jaccard,
    music_body,
    shingle_set,
    shingles,
)

TUNE = "X:1\nM:6/8\nL:1/8\nK:D\nA|dfa afd|gfe dcB|AFA dFA|B2A AFD:|\nf|afa gfe|fdf ecA|dcB AFD|E3 D2:|\n"
OTHER = "X:1\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|\nG2G2 z4|]\n"


def random_tune(rng: random.Random, bars: int = 12) -> str:
    body = "|".join("".join(rng.choice("CDEFGABcdefgab") + rng.choice(["", "2", "/"]) for _ in range(6))
                    for _ in range(bars))
    return f"X:1\nM:3/4\nL:1/8\nK:C\n{body}|]\n"


def test_identical_pieces_are_1():
    assert jaccard(TUNE, TUNE) == 1.0


def test_header_and_layout_do_not_count():
    relaid = TUNE.replace("X:1\nM:6/8", "X:7\nT:Another title\nM:6/8").replace("|\nf|", "| f|").replace(" ", "   ")
    assert music_body(relaid) == music_body(TUNE)
    assert jaccard(TUNE, relaid) == 1.0


def test_disjoint_pieces_are_0():
    assert not shingle_set(TUNE) & shingle_set(OTHER)
    assert jaccard(TUNE, OTHER) == 0.0


def test_empty_body_is_0_even_against_itself():
    empty = "X:1\nM:4/4\nK:C\n"
    assert shingle_set(empty) == set()
    assert jaccard(empty, empty) == 0.0
    assert jaccard(empty, TUNE) == 0.0


def test_short_body_is_one_shingle():
    short = "X:1\nK:C\nCDE|\n"
    assert shingle_set(short) == {b"CDE|"}
    assert len(shingles(short)) == 1
    assert jaccard(short, short) == 1.0


def test_packed_shingles_count_matches_the_set():
    assert len(shingles(TUNE)) == len(shingle_set(TUNE))


def test_near_copy_is_found_as_nearest_of_several():
    rng = random.Random(3)
    references = [(f"r{i}", random_tune(rng)) for i in range(20)] + [("tune", TUNE), ("other", OTHER)]
    near_copy = TUNE.replace("gfe dcB", "gfe dcA")  # one note changed
    index = SimilarityIndex(references)
    match = index.nearest(near_copy)
    assert match.id == "tune"
    assert 0.5 < match.similarity < 1.0
    assert index.nearest(TUNE).similarity == 1.0 and index.nearest(TUNE).is_copy
    assert match.is_copy == (match.similarity >= COPY_THRESHOLD)


def test_index_agrees_with_brute_force():
    rng = random.Random(5)
    references = [(f"r{i}", random_tune(rng, bars=rng.randint(1, 16))) for i in range(40)]
    # Share material between pieces so similarities are not all zero.
    references += [(f"mix{i}", references[i][1] + references[i + 1][1].split("K:C\n", 1)[1]) for i in range(10)]
    references += [("empty", "X:1\nK:C\n"), ("short", "X:1\nK:C\nCD|\n")]
    index = SimilarityIndex(references)
    queries = [random_tune(rng) for _ in range(5)] + [references[3][1], references[41][1], "X:1\nK:C\nCD|\n"]
    for query in queries:
        values = index.similarities(query)
        brute = [jaccard(query, abc) for _, abc in references]
        assert values.tolist() == pytest.approx(brute, abs=1e-12)
        best = max(range(len(brute)), key=lambda i: (brute[i], -i))
        assert index.nearest(query).id == references[best][0]


def test_empty_index():
    index = SimilarityIndex([])
    assert len(index) == 0
    match = index.nearest(TUNE)
    assert match.id is None and match.similarity == 0.0


def test_dataset_pieces_reads_the_split(tmp_path):
    rows = [{"id": "a", "abc": TUNE, "split": "train"}, {"id": "b", "abc": OTHER, "split": "train"}]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert dataset_pieces(tmp_path) == [("a", TUNE), ("b", OTHER)]
    with pytest.raises(FileNotFoundError):
        dataset_pieces(tmp_path, ("valid",))
