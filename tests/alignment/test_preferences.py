"""Exclusion rules, chosen/rejected selection and pairing, and the saved preference set."""

import json

from musegen_cli.alignment.preferences import PreferenceSet, Sample, exclusion, select_pairs, voices_agree
from musegen_cli.generation import check
from musegen_cli.scoring.similarity import SimilarityIndex
from tests.alignment.canned import POOL

TWO_VOICES = "X:1\nM:4/4\nL:1/8\nK:C\nV:1\nC2 D2 E2 F2|G8|]\nV:2\nC,2 D,2 E,2 F,2|{}|]\n"


def test_voices_must_agree_in_bar_count_and_length():
    assert voices_agree(POOL[0])
    assert voices_agree(TWO_VOICES.format("G,8"))
    assert not voices_agree(TWO_VOICES.format("G,8|G,8"))  # one more bar
    assert not voices_agree(TWO_VOICES.format("G,6"))  # a shorter bar


def test_exclusion_reasons():
    index = SimilarityIndex([("train-7", POOL[2])])
    assert exclusion(POOL[-1], check(POOL[-1]), None, 0.9).startswith(("does not parse", "no notes"))
    assert "voices disagree" in exclusion(POOL[4], check(POOL[4]), None, 0.9)
    assert exclusion(POOL[2], check(POOL[2]), index, 0.9).startswith("copies train-7")
    assert exclusion(POOL[2], check(POOL[2]), index, 1.01) is None  # threshold above any similarity
    assert exclusion(POOL[0], check(POOL[0]), index, 0.9) is None
    off = "X:1\nT:Short\nM:4/4\nL:1/8\nK:C\nCDEF GABc|cBAG F|EDC2 z4|]\n"  # the second bar is short
    assert exclusion(off, check(off), None, 0.9) == "1 bar off the meter"
    untitled = "X:1\nM:4/4\nL:1/8\nK:C\nCDEF GABc|]\n"  # the strict check's other rules hold too
    assert exclusion(untitled, check(untitled), None, 0.9) == "no title (T:)"


def _samples(rewards, excluded=(), group=0):
    return [Sample(group, {"emotion": f"Q{group + 1}"}, POOL[0].replace("Canned", f"piece {group}-{i}"),
                   check(POOL[0]), reward=r,
                   excluded="does not parse" if i in excluded else None) for i, r in enumerate(rewards)]


def test_pairs_are_top_by_bottom_within_each_condition_set():
    samples = _samples([0.9, 0.1, 0.5, 0.95, 0.3, 0.2, 0.8, 0.4], excluded={3}) + _samples([0.2, 0.7], group=1)
    pairs = select_pairs(samples, top=0.25, bottom=0.25)
    # Group 0: 8 samples -> 2 chosen, 2 rejected; the excluded 0.95 is never chosen and is
    # rejected first (broken pieces rank lowest); then the lowest reward (0.1).
    assert {(p.chosen, p.rejected) for p in pairs if p.chosen < 8} == {(0, 3), (0, 1), (6, 3), (6, 1)}
    assert {(p.chosen, p.rejected) for p in pairs if p.chosen >= 8} == {(9, 8)}
    assert [s.role for s in samples[:8]] == ["chosen", "rejected", None, "rejected", None, None, "chosen", None]


def test_no_pairs_without_an_eligible_piece_or_from_ties():
    assert select_pairs(_samples([0.5, 0.4], excluded={0, 1}), 0.5, 0.5) == []
    assert select_pairs(_samples([0.5, 0.5]), 0.5, 0.5) == []


def test_preference_set_is_saved_as_jsonl(tmp_path):
    samples = _samples([0.9, 0.1])
    pairs = select_pairs(samples, 0.5, 0.5)
    PreferenceSet(samples, pairs).save(tmp_path)
    (pair,) = [json.loads(line) for line in (tmp_path / "preferences.jsonl").read_text().splitlines()]
    assert "T:piece 0-0\n" in pair["chosen"] and "T:piece 0-1\n" in pair["rejected"]
    assert pair["conditions"] == {"emotion": "Q1"} and pair["chosen_reward"] == 0.9
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert [r["role"] for r in rows] == ["chosen", "rejected"] and rows[0]["valid"] is True
