"""The search: an evotorch problem whose solutions are genomes, and the searchers over it.

`MusicProblem._evaluate_batch` decodes each solution into controls, generates its piece with
the genome's own seed, and scores the whole batch with the fitness (a person may be asked
inside it). One evaluated batch is one *generation*: what `--generations N` counts and what a
person rates in one round, so N generations ask exactly N rounds whatever the searcher. A
GA's first step evaluates two batches (its initial population, then their children), so the
GA takes N - 1 steps, and for N = 1 only its initial population is evaluated. In-process,
every evaluated candidate is kept in `history` with its genome, seed, piece, features and
fitness; with Ray workers the evaluations happen in copies of the problem, so progress is
read from each evaluated batch (evotorch's `after_eval_hook`), which works either way.

Searchers (evotorch): `ga` (genetic algorithm: simulated binary crossover + Gaussian
mutation, elitist, parents never re-evaluated, so a rating is never asked twice), `cmaes`,
`snes`; and `random` (fresh uniform samples each generation: the baseline every searcher
must beat at the same number of evaluations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from musegen_cli.errors import UserError
from musegen_cli.evolution.fitness import Candidate, Fitness
from musegen_cli.evolution.genomes import Controls, candidate_seed
from musegen_cli.evolution.session import SessionState

SEARCHERS = ("ga", "cmaes", "snes", "random")

#: Generates one piece: (controls, seed) -> ABC.
Generate = Callable[[Controls, int], str]


@dataclass(frozen=True)
class SearchSettings:
    """Operator settings (TOML keys of `musegen evolve --config`)."""

    population: int = 8
    generations: int = 5
    #: CMA-ES and SNES initial spread, GA mutation spread, in genome units. None: for CMA-ES
    #: and SNES a quarter of the genome's range (their step size adapts; a first population
    #: stays mostly inside the bounds instead of piling up, clamped, on the corners); for the
    #: GA's mutation half the range, as its selection keeps the best while mutation explores.
    stdev: float | None = None
    tournament: int = 3
    crossover_rate: float = 0.9
    eta: float = 10.0  # simulated binary crossover's distribution index
    mutation_probability: float | None = None  # None: evotorch's default (every gene)
    elitist: bool = True
    workers: int = 0  # Ray actors for fitness evaluation; 0 evaluates in-process

    def __post_init__(self) -> None:
        if self.population < 2:
            raise UserError(f"the population needs at least 2 candidates, not {self.population}")
        if self.generations < 1:
            raise UserError(f"generations must be at least 1, not {self.generations}")
        if self.stdev is not None and self.stdev <= 0:
            raise UserError(f"stdev must be positive, not {self.stdev}")


def make_problem(genome: Any, generate: Generate, fitness: Fitness, seed: int,
                 on_candidate: Callable[[Candidate], None] | None = None, workers: int = 0) -> Any:
    """The evotorch problem over ``genome`` (built lazily: evotorch imports ray). It is
    unbounded, as CMA-ES requires; genomes clamp or argmax their values when decoded."""
    import logging

    from evotorch import Problem

    logging.getLogger("evotorch").setLevel(logging.WARNING)  # its INFO lines would bury the progress

    class MusicProblem(Problem):
        def __init__(self) -> None:
            super().__init__("max", solution_length=genome.length, initial_bounds=genome.bounds,
                             dtype=torch.float32, seed=seed, num_actors=workers or None)
            self.history: list[Candidate] = []
            self.rounds = 0
            self.evaluations = 0  # in this process (Ray workers count in their own copies)

        def _evaluate_batch(self, solutions: Any) -> None:
            from musegen_cli.analysis.features import analyze_abc

            candidates = []
            for index, values in enumerate(solutions.values.clone()):
                controls = genome.decode(values)
                piece_seed = candidate_seed(seed)
                abc = generate(controls, piece_seed)
                candidates.append(Candidate(self.rounds, index, values.tolist(), piece_seed, controls, abc,
                                            analyze_abc(abc)))
            scores = fitness.score(candidates)
            solutions.set_evals(torch.tensor(scores, dtype=torch.float32))
            self.history += candidates
            self.rounds += 1
            self.evaluations += len(candidates)
            if on_candidate is not None:
                for candidate in candidates:
                    on_candidate(candidate)

    return MusicProblem()


class RandomSearch:
    """Uniform samples within the genome's bounds, a population per step."""

    def __init__(self, problem: Any, population: int) -> None:
        self.problem, self.size = problem, population
        self.population: Any = None

    def step(self) -> None:
        self.population = self.problem.generate_batch(self.size)
        self.problem.evaluate(self.population)


def make_searcher(name: str, problem: Any, settings: SearchSettings) -> Any:
    """One of `SEARCHERS` over ``problem``. CMA-ES and SNES start at the middle of the
    genome's bounds (for steering directions: the unsteered model)."""
    if name == "random":
        return RandomSearch(problem, settings.population)
    low, high = problem.initial_lower_bounds, problem.initial_upper_bounds
    width = float((high - low).mean())
    stdev = settings.stdev if settings.stdev is not None else width / (2 if name == "ga" else 4)
    center = ((low + high) / 2).expand(problem.solution_length).clone()
    if name == "ga":
        from evotorch.algorithms import GeneticAlgorithm
        from evotorch.operators import GaussianMutation, SimulatedBinaryCrossOver

        return GeneticAlgorithm(
            problem,
            operators=[
                SimulatedBinaryCrossOver(problem, tournament_size=settings.tournament,
                                         cross_over_rate=settings.crossover_rate, eta=settings.eta),
                GaussianMutation(problem, stdev=stdev, mutation_probability=settings.mutation_probability),
            ],
            popsize=settings.population,
            elitist=settings.elitist,
            re_evaluate=False,
        )
    if name == "cmaes":
        from evotorch.algorithms import CMAES

        return CMAES(problem, stdev_init=stdev, popsize=settings.population, center_init=center)
    if name == "snes":
        from evotorch.algorithms import SNES

        return SNES(problem, stdev_init=stdev, popsize=settings.population, center_init=center)
    raise UserError(f"unknown searcher {name!r}; choose one of {', '.join(SEARCHERS)}")


@dataclass(frozen=True)
class GenerationSummary:
    generation: int
    evaluations: int
    best: float
    mean: float
    best_so_far: float


@dataclass
class SearchResult:
    summaries: list[GenerationSummary]
    best: list[tuple[float, list[float]]]  # (fitness, genome), best first, genomes distinct


def genome_key(values: list[float]) -> tuple[float, ...]:
    """A genome as a dict key: float32 values written back as Python floats differ in the last
    digits, so they are rounded."""
    return tuple(round(v, 6) for v in values)


def run_search(searcher: Any, problem: Any, generations: int,
               on_generation: Callable[[GenerationSummary], None] | None = None, keep: int = 5) -> SearchResult:
    """Evaluate exactly ``generations`` batches (module doc), summarising each one as it is
    evaluated, and keep the best distinct genomes seen. In-process, candidates know their piece
    and whether it is valid music: the winners are then distinct pieces, valid music before
    invalid (so the winners written out are music even where the penalty left an invalid one
    ahead)."""
    log = _GenerationLog(on_generation)
    problem.after_eval_hook.append(log.record)
    try:
        while len(log.summaries) < generations:
            waiting = _unevaluated_population(searcher)
            if waiting is not None and len(log.summaries) == generations - 1:
                problem.evaluate(waiting)  # a GA's first step would evaluate two batches: one is left
            else:
                searcher.step()
    finally:
        problem.after_eval_hook.remove(log.record)
    ranked = sorted(log.seen.items(), key=lambda item: item[1], reverse=True)
    if problem.history:  # in-process every evaluated genome is a candidate here
        candidates = {genome_key(c.genome): c for c in problem.history}
        ranked = _one_per_piece(ranked, candidates)
        ranked.sort(key=lambda item: not candidates[item[0]].acceptable)  # stable: by fitness within each
    return SearchResult(log.summaries, [(fitness, list(values)) for values, fitness in ranked[:keep]])


def _one_per_piece(ranked: list[tuple[tuple[float, ...], float]],
                   candidates: dict[tuple[float, ...], Candidate]) -> list[tuple[tuple[float, ...], float]]:
    """The best genome of each piece: genomes that decode to the same controls give the same
    piece (common random numbers), and one piece is one winner, not three."""
    kept, pieces = [], set()
    for key, fitness in ranked:
        if candidates[key].abc not in pieces:
            pieces.add(candidates[key].abc)
            kept.append((key, fitness))
    return kept


def _unevaluated_population(searcher: Any) -> Any:
    """The population a searcher made but has not evaluated yet (a GA's initial one), or None."""
    population = getattr(searcher, "population", None)
    if population is None or not bool(torch.isnan(population.evals).any()):
        return None
    return population


class _GenerationLog:
    """Summarises every batch the problem evaluates (registered as its after-evaluation hook,
    which runs in this process also when Ray workers evaluate)."""

    def __init__(self, on_generation: Callable[[GenerationSummary], None] | None) -> None:
        self.on_generation = on_generation
        self.summaries: list[GenerationSummary] = []
        self.seen: dict[tuple[float, ...], float] = {}
        self.evaluations = 0

    def record(self, batch: Any) -> None:
        evals = batch.evals[:, 0].tolist()
        for values, fitness in zip(batch.values.tolist(), evals):
            key = genome_key(values)
            self.seen[key] = max(fitness, self.seen.get(key, float("-inf")))
        self.evaluations += len(evals)
        best_so_far = max([max(evals), *(s.best for s in self.summaries)])
        summary = GenerationSummary(len(self.summaries), self.evaluations, max(evals), sum(evals) / len(evals),
                                    best_so_far)
        self.summaries.append(summary)
        if self.on_generation is not None:
            self.on_generation(summary)


def session_result(state: SessionState, keep: int = 5) -> SearchResult:
    """What a session file holds, as a search result: each generation summarised by its
    ratings (a skip counts as an evaluation, not as a fitness) and the best-rated distinct
    genomes. A run the person stopped is summarised from this, so the summary always covers
    every rating given, the replayed ones of a resumed run included."""
    by_generation: dict[int, list[int | None]] = {}
    for (generation, _), rating in sorted(state.ratings.items()):
        by_generation.setdefault(generation, []).append(rating)
    summaries: list[GenerationSummary] = []
    evaluations, best_so_far = 0, float("-inf")
    for generation, given in sorted(by_generation.items()):
        evaluations += len(given)
        rated = [r for r in given if r is not None]
        if rated:
            best_so_far = max(best_so_far, *rated)
            summaries.append(GenerationSummary(generation, evaluations, max(rated), sum(rated) / len(rated),
                                               best_so_far))
    best: dict[tuple[float, ...], tuple[float, list[float]]] = {}
    for key, rating in state.ratings.items():
        genome = state.records[key].get("genome")
        if rating is not None and genome is not None and rating > best.get(genome_key(genome), (-1.0,))[0]:
            best[genome_key(genome)] = (float(rating), list(genome))
    return SearchResult(summaries, sorted(best.values(), key=lambda item: item[0], reverse=True)[:keep])
