"""Reward parsing, checks before sampling, and the values each reward gives."""

import pytest

from musegen_cli.alignment.rewards import build_reward, check_scorable, parse_reward, rules_reward
from musegen_cli.errors import UserError
from musegen_cli.generation import check
from tests.alignment.canned import POOL


def test_parse_reward():
    assert parse_reward("emotion") == {"emotion": 1.0}
    assert parse_reward("emotion=0.7, rules=0.3") == {"emotion": 0.7, "rules": 0.3}
    for bad, message in [("clamp", "unknown reward"), ("emotion=x", "must be a number"), ("rules=0", "positive"),
                         ("rules,rules", "twice"), (",", "no reward")]:
        with pytest.raises(UserError, match=message):
            parse_reward(bad)


def test_rewards_that_cannot_score_are_refused():
    with pytest.raises(UserError, match="needs --reference"):
        check_scorable({"reference": 1.0}, [{}], has_reference=False, has_text=False)
    with pytest.raises(UserError, match="needs --text"):
        check_scorable({"text": 1.0}, [{}], has_reference=False, has_text=False)
    with pytest.raises(UserError, match="emotion .* in every condition set"):
        check_scorable({"emotion": 1.0}, [{"emotion": "Q1"}, {"mode": "major"}], has_reference=False, has_text=False)
    with pytest.raises(UserError, match="needs a scorer"):
        build_reward({"emotion": 1.0}, [{"emotion": "Q1"}], scorer=None)
    check_scorable({"rules": 1.0}, [{}], has_reference=False, has_text=False)


def test_rules_reward():
    valid, broken = check(POOL[0]), check(POOL[-1])
    assert rules_reward(POOL[-1], broken, {}) == 0.0
    assert rules_reward(POOL[0], valid, {}) == pytest.approx((1.0 + valid.scale_consistency) / 2)
    hit = rules_reward(POOL[0], valid, {"emotion": valid.quadrant})
    miss = rules_reward(POOL[0], valid, {"emotion": "Q1" if valid.quadrant != "Q1" else "Q2"})
    assert hit - miss == pytest.approx(1 / 3)


def test_weighted_sum_of_learned_and_rule_rewards(scorer_dir):
    from musegen_cli.scoring.reference import embed_reference
    from musegen_cli.scoring.scorer import load_scorer

    scorer = load_scorer(scorer_dir)
    conditions = [{"emotion": "Q1"}, {"emotion": "Q3"}]
    pieces = POOL[:2]
    reference = embed_reference([("a", POOL[2]), ("b", POOL[3])], scorer, "test")
    reward = build_reward({"emotion": 0.5, "reference": 0.25, "text": 0.25, "rules": 1.0}, conditions, scorer=scorer,
                          reference=reference, text="a happy jig")
    total, parts = reward.score(pieces, conditions, [check(p) for p in pieces])
    probs = scorer.emotion_probs(scorer.embed_pieces(pieces))
    assert parts["emotion"] == pytest.approx([float(probs[0, 0]), float(probs[1, 2])])
    assert all(-1.0 <= v <= 1.0 for v in parts["reference"] + parts["text"])
    expected = [0.5 * parts["emotion"][i] + 0.25 * parts["reference"][i] + 0.25 * parts["text"][i]
                + parts["rules"][i] for i in range(2)]
    assert total == pytest.approx(expected)
