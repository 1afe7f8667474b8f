"""Fitness modes: penalties, rating rounds, and the listener model of dynamic mode."""

from __future__ import annotations

import torch

from musegen_cli.analysis.features import analyze_abc
from musegen_cli.evolution.fitness import REPEAT_PENALTY, Candidate, Fitness, ListenerModel
from musegen_cli.evolution.genomes import Controls

GOOD = "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\ncdec dcBA|GABc dedc|cdec dcBA|G8|\n"
GOOD_TOO = "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\ncdec dcBA|GABc dedc|cdec dcBA|c8|\n"
OFF_METER = "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\ncdec dcB|GABc ded|cdec dcBA|G8|\n"


class FixedScorer:
    def embed_pieces(self, pieces, batch_size=64, on_progress=None):
        return torch.nn.functional.normalize(torch.tensor([[1.0, float(len(p) % 3)] for p in pieces]), dim=1)


def _candidates(generation: int, pieces: list[str]) -> list[Candidate]:
    return [Candidate(generation, i, [0.0], 0, Controls({}, []), abc, analyze_abc(abc)) for i, abc in enumerate(pieces)]


class CountingRater:
    def __init__(self):
        self.asked = 0

    def rate(self, candidates):
        self.asked += len(candidates)
        return [4.0 if "cdec" in c.abc else 2.0 for c in candidates[:-1]] + [None]  # the last is skipped


def test_invalid_or_degenerate_pieces_lose_the_penalty():
    fitness = Fitness("text", FixedScorer(), point=torch.tensor([1.0, 0.0]), penalty=0.75)
    good, off = fitness.score(_candidates(0, [GOOD, OFF_METER]))
    raw = FixedScorer().embed_pieces([GOOD, OFF_METER]) @ torch.tensor([1.0, 0.0])
    assert good == float(raw[0]) and off == float(raw[1]) - 0.75


def test_dynamic_mode_asks_every_other_generation_and_predicts_in_between():
    rater = CountingRater()
    fitness = Fitness("dynamic", FixedScorer(), rater=rater, rate_every=2, penalty=0.0)
    first = fitness.score(_candidates(0, [GOOD, GOOD_TOO, OFF_METER]))
    assert rater.asked == 3 and first[:2] == [4.0, 4.0]
    second = fitness.score(_candidates(1, [GOOD + "\n", OFF_METER + "\n"]))
    assert rater.asked == 3  # a model round: nobody was asked
    assert second[0] > 3.0  # the model expects a well-rated kind of tune to do well
    fitness.score(_candidates(2, [GOOD]))
    assert rater.asked == 4


def test_the_listener_model_learns_a_linear_taste():
    model = ListenerModel(ridge=1e-3)
    assert model.predict(torch.tensor([1.0, 0.0])) == 3.0
    for x, rating in (([1.0, 0.0], 5.0), ([0.0, 1.0], 1.0), ([0.7, 0.7], 3.0)):
        model.add(torch.tensor(x), rating)
    assert model.predict(torch.tensor([1.0, 0.0])) > 4.5 and model.predict(torch.tensor([0.0, 1.0])) < 1.5


class ReusingRater:
    """Rates like a person whose earlier rating of a piece is reused (`Person`)."""

    def __init__(self, ratings):
        self.ratings, self.given = list(ratings), {}

    def rate(self, candidates):
        for candidate in candidates:
            if candidate.abc not in self.given:
                self.given[candidate.abc] = self.ratings.pop(0)
        return [self.given[c.abc] for c in candidates]


def test_a_repeat_scores_its_rating_less_the_penalty_and_teaches_the_model_nothing():
    fitness = Fitness("interactive", FixedScorer(), rater=ReusingRater([4.0, 2.0, 5.0]), penalty=0.0)
    assert fitness.score(_candidates(0, [GOOD, GOOD_TOO, GOOD])) == [4.0, 2.0, 4.0 - REPEAT_PENALTY]
    assert fitness.score(_candidates(1, [GOOD_TOO, OFF_METER])) == [2.0 - REPEAT_PENALTY, 5.0]
    assert len(fitness.model.seen) == 3  # one example per distinct piece
    assert 2.0 - REPEAT_PENALTY > 1.0  # a repeat still ranks above a piece rated lower


def test_dynamic_model_rounds_score_a_rated_piece_by_its_rating_less_the_penalty():
    fitness = Fitness("dynamic", FixedScorer(), rater=ReusingRater([4.0, 2.0]), rate_every=2, penalty=0.0)
    fitness.score(_candidates(0, [GOOD, GOOD_TOO]))
    assert fitness.score(_candidates(1, [GOOD_TOO]))[0] == 2.0 - REPEAT_PENALTY
