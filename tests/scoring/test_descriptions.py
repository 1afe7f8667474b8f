"""Descriptions of dataset records: every label shows up, keys in either spelling, random subsets."""

from __future__ import annotations

import random

import pytest

from musegen_cli.scoring.descriptions import describe, key_name, phrases, sample_phrases

RECORD = {
    "abc": "X:1\nM:6/8\nK:Ador\nABc|\n", "collection": "oneills1850", "id": "t1",
    "labels": {"key": "Ador", "meter": "6/8", "mode": "minor", "quadrant": "Q2", "register_band": "high",
               "tempo_band": "fast", "tempo_source": "default"},
}
SCORE = {
    "abc": "X:1\nK:C\nC|\n", "collection": "bach",
    "labels": {"composer": "Bach, Johann Sebastian", "period": "Baroque", "instrumentation": "Keyboard",
               "quadrant": "Q4", "key": "C"},
}


def test_full_description_names_every_label() -> None:
    text = describe(RECORD)
    for words in ("tense and angry", "fast tempo", "minor mode", "A dorian", "6/8 time", "high register",
                  "O'Neill's Music of Ireland"):
        assert words in text
    assert describe(RECORD) == text  # no rng: fixed order


def test_scores_name_composer_period_and_instrumentation() -> None:
    text = describe(SCORE)
    assert "by Johann Sebastian Bach" in text and "Baroque period" in text and "for keyboard" in text
    assert "calm and relaxed" in text and "in C major" in text


@pytest.mark.parametrize("key, name", [("G", "G major"), ("Em", "E minor"), ("Ador", "A dorian"),
                                       ("F#m", "F# minor"), ("Bbmix", "Bb mixolydian"), ("G major", "G major"),
                                       ("D Dorian", "D dorian"), ("H", None), ("Bn", None), ("", None)])
def test_key_names_read_abc_and_older_spellings(key: str, name: str | None) -> None:
    assert key_name(key) == name


def test_random_descriptions_are_subsets_in_varying_order() -> None:
    every = phrases(RECORD)
    seen_orders, seen_sizes = set(), set()
    rng = random.Random(0)
    for _ in range(200):
        chosen = sample_phrases(RECORD, rng)
        assert chosen and set(chosen) <= set(every) and len(set(chosen)) == len(chosen)
        seen_orders.add(tuple(chosen))
        seen_sizes.add(len(chosen))
    assert len(seen_sizes) == len(every) and len(seen_orders) > 100
    assert describe(RECORD, random.Random(3)) == describe(RECORD, random.Random(3))


def test_bare_record_still_describes() -> None:
    assert describe({"abc": "X:1\n"}) == "a tune"
    assert describe({"abc": "X:1\n", "labels": {}}, random.Random(0)) == "a tune"
    assert "from mycollection" in describe({"abc": "", "collection": "mycollection"})
