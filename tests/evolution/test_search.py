"""Searchers over a toy generator whose best genome is known."""

from __future__ import annotations

import pytest
import torch

from musegen_cli.evolution.fitness import Fitness, SyntheticListener
from musegen_cli.evolution.genomes import ConditionGenome, DirectionGenome, candidate_seed
from musegen_cli.evolution.search import SearchSettings, genome_key, make_problem, make_searcher, run_search
from musegen_cli.steering.directions import Directions


class CountingScorer:
    """Embeds a tune as its normalised (high c, low C, rest) note counts."""

    def embed_pieces(self, pieces, batch_size=64, on_progress=None):
        rows = torch.tensor([[p.count("c") + 0.0, p.count("C") + 0.0, 1.0] for p in pieces])
        return torch.nn.functional.normalize(rows, dim=1)


def toy_generate(controls, seed):
    """Eight bars; the first direction's strength decides how many notes are high c."""
    strength = controls.steering[0].strength if controls.steering else 0.0
    high = max(0, min(8, round(4 + strength * 4 / 3)))
    bar = "c" * high + "C" * (8 - high)
    return "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\n" + "|".join([bar] * 8) + "|\n"


def _directions(name: str) -> Directions:
    return Directions(name, "classification", ["a", "b"], {"name": "toy", "weights_hash": "0"}, "mean", {}, {})


@pytest.mark.parametrize("name", ["ga", "cmaes", "snes", "random"])
def test_every_searcher_finds_the_high_notes(name):
    genome = DirectionGenome([_directions("height"), _directions("noise")], bound=3.0)
    listener_point = torch.nn.functional.normalize(torch.tensor([1.0, 0.0, 0.2]), dim=0)
    fitness = Fitness("listener", CountingScorer(), point=listener_point)
    torch.manual_seed(0)
    problem = make_problem(genome, toy_generate, fitness, seed=1)
    searcher = make_searcher(name, problem, SearchSettings(population=6, generations=4, stdev=1.0))
    result = run_search(searcher, problem, 4)
    assert len(result.summaries) == 4 and result.summaries[-1].evaluations == problem.evaluations
    assert result.summaries[-1].best_so_far == max(s.best for s in result.summaries)
    fitness_of_best, best_genome = result.best[0]
    assert fitness_of_best == result.summaries[-1].best_so_far
    # more high notes than the unsteered middle of the bounds is what the listener likes
    middle = toy_generate(genome.decode(torch.zeros(2)), 0).count("c")
    assert toy_generate(genome.decode(torch.tensor(best_genome)), 0).count("c") > middle
    assert all(c.rating is not None and 1.0 <= c.rating <= 5.0 for c in problem.history)


def test_candidates_keep_their_seed_and_piece():
    genome = DirectionGenome([_directions("height")])
    assert candidate_seed(3) == candidate_seed(3) != candidate_seed(4)  # one seed per session
    assert genome.decode(torch.tensor([9.0])).steering[0].strength == 0.5  # clamped to the bound


def test_condition_genomes_pick_the_highest_gene():
    genome = ConditionGenome({"emotion": ["Q1", "Q2", "Q3", "Q4"], "mode": ["major", "minor"]}, fixed={"meter": "6/8"})
    controls = genome.decode(torch.tensor([0.1, 0.9, 0.2, 0.3, 0.8, 0.1]))
    assert controls.conditions == {"meter": "6/8", "emotion": "Q2", "mode": "major"}
    assert genome.length == 6 and controls.describe() == "meter=6/8, emotion=Q2, mode=major"


def test_the_synthetic_listener_rates_on_a_1_to_5_scale():
    listener = SyntheticListener(torch.tensor([1.0, 0.0]), low=0.0, high=1.0)
    assert listener.rating_of(torch.tensor([1.0, 0.0])) == 5.0
    assert listener.rating_of(torch.tensor([0.0, 1.0])) == 1.0
    assert listener.rating_of(torch.tensor([0.5, 0.5])) == pytest.approx(3.0)


def broken_when_high(controls, seed):
    """All high c (what the listener likes) but with a short last bar, invalid music, when
    the strength is above 1; below it, valid tunes with at most three high c a bar."""
    strength = controls.steering[0].strength if controls.steering else 0.0
    if strength > 1.0:
        return "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\n" + "cccccccc|" * 7 + "ccc|\n"
    high = max(0, min(3, 2 + round(strength)))
    return "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\n" + "|".join(["c" * high + "C" * (8 - high)] * 8) + "|\n"


def test_winners_are_valid_music_first_even_when_an_invalid_piece_scored_higher():
    genome = DirectionGenome([_directions("height")], bound=3.0)
    listener_point = torch.nn.functional.normalize(torch.tensor([1.0, 0.0, 0.0]), dim=0)
    fitness = Fitness("listener", CountingScorer(), point=listener_point, penalty=0.1)
    torch.manual_seed(0)
    problem = make_problem(genome, broken_when_high, fitness, seed=1)
    result = run_search(make_searcher("random", problem, SearchSettings(population=12, generations=2)), problem, 2)
    valid = {genome_key(c.genome): c.acceptable for c in problem.history}
    assert not all(valid.values()) and any(valid.values())  # both kinds were tried
    flags = [valid[genome_key(genome_values)] for _, genome_values in result.best]
    assert flags == sorted(flags, reverse=True)  # every valid winner ranks before every invalid one
    by_fitness = max(problem.history, key=lambda c: c.fitness)
    assert not by_fitness.acceptable and result.best[0][0] < by_fitness.fitness  # the penalty alone left it ahead
