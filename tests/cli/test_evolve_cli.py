"""`musegen evolve` end to end on the bundled model with a debug scorer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.registry import reset_registry


@pytest.fixture(scope="module")
def scorer_dir(tmp_path_factory) -> Path:
    from musegen_cli.scoring.scorer import build_scorer, save_scorer

    folder = tmp_path_factory.mktemp("scorer") / "debug"
    save_scorer(build_scorer("debug"), folder, provenance={}, metrics={})
    return folder


def invoke(*args: object, stdin: str | None = None):
    reset_registry()
    return CliRunner().invoke(app, ["evolve", *map(str, args)], input=stdin)


COMMON = ("--bars", 2, "--seed", 5, "--no-audio")


def test_a_synthetic_listener_run_writes_the_best_pieces_and_a_summary(scorer_dir, tmp_path):
    out = tmp_path / "evo"
    result = invoke("--fitness", "listener", "--searcher", "ga", "--population", 3, "--generations", 2,
                    "--scorer", scorer_dir, "-o", out, *COMMON, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert len(summary["generations"]) == 2 and summary["best"][0]["fitness"] >= summary["best"][-1]["fitness"]
    assert "emotion=" in summary["best"][0]["controls"]
    assert (out / "best-1.abc").read_text().startswith("X:1") and (out / "best-1.mid").is_file()
    assert json.loads((out / "summary.json").read_text())["settings"]["searcher"] == "ga"


def test_interactive_ratings_are_saved_as_given_and_a_resume_asks_only_what_is_left(scorer_dir, tmp_path):
    out = tmp_path / "evo"
    keys = tmp_path / "keys.txt"
    keys.write_text("4\nf\n2\nq\n")  # rate, favourite + rate, then quit
    first = invoke("--population", 4, "--generations", 2, "--scorer", scorer_dir, "--ratings", keys, "-o", out,
                   *COMMON)
    assert first.exit_code == 0, first.output
    session = out / "session.jsonl"
    events = [json.loads(line) for line in session.read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "rate", "favourite", "rate", "quit"]
    assert (out / "favourite-g1-c2.abc").is_file()

    keys.write_text("5\n1\n3\n3\n3\n3\n")
    resumed = invoke("--resume", session, "--scorer", scorer_dir, "--ratings", keys, "-o", out, "--no-audio")
    assert resumed.exit_code == 0, resumed.output
    assert "replayed 2 ratings from" in resumed.output
    ratings = [json.loads(line) for line in session.read_text().splitlines() if '"rate"' in line]
    assert [r["rating"] for r in ratings[:2]] == [4, 2]  # the first two were not asked again
    keys_asked = [(r["generation"], r["candidate"]) for r in ratings]
    assert len(set(keys_asked)) == len(keys_asked) and {g for g, _ in keys_asked} <= {0, 1}


def test_generations_n_asks_exactly_n_rounds_of_ratings(scorer_dir, tmp_path):
    out = tmp_path / "evo"
    keys = tmp_path / "keys.txt"
    keys.write_text("4\n3\n5\n2\n" * 4)  # more keys than two rounds need
    result = invoke("--population", 4, "--generations", 2, "--scorer", scorer_dir, "--ratings", keys, "-o", out,
                    *COMMON, "--json")
    assert result.exit_code == 0, result.output
    assert "generation 3/" not in result.output and "generation 2/2" in result.output
    rated = [json.loads(line) for line in (out / "session.jsonl").read_text().splitlines() if '"rate"' in line]
    assert rated and {r["generation"] for r in rated} <= {0, 1}
    summary = json.loads(result.stdout)
    assert [g["generation"] for g in summary["generations"]] == [0, 1]
    assert summary["generations"][-1]["evaluations"] == 8  # two populations of 4
    assert len(rated) < 8 and "heard before" in result.output  # repeated pieces were not asked again


def test_a_listener_run_evaluates_exactly_n_generations(scorer_dir, tmp_path):
    for searcher in ("ga", "cmaes"):
        result = invoke("--fitness", "listener", "--searcher", searcher, "--population", 3, "--generations", 1,
                        "--scorer", scorer_dir, "-o", tmp_path / searcher, *COMMON, "--json")
        assert result.exit_code == 0, result.output
        assert [g["evaluations"] for g in json.loads(result.stdout)["generations"]] == [3], searcher


def test_q_after_a_resume_summarises_every_rating_in_the_session(scorer_dir, tmp_path):
    out = tmp_path / "evo"
    keys = tmp_path / "keys.txt"
    keys.write_text("4\n2\nq\n")
    assert invoke("--population", 4, "--generations", 2, "--scorer", scorer_dir, "--ratings", keys, "-o", out,
                  *COMMON).exit_code == 0
    keys.write_text("q\n")
    resumed = invoke("--resume", out / "session.jsonl", "--scorer", scorer_dir, "--ratings", keys, "-o", out,
                     "--no-audio", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert "replayed 2 ratings" in resumed.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_early"] and summary["replayed"] == 2
    assert summary["generations"] == [{"generation": 0, "evaluations": 2, "best": 4, "mean": 3.0, "best_so_far": 4}]
    assert [b["fitness"] for b in summary["best"]] == [4.0, 2.0]
    assert (out / "best-1.abc").read_text().startswith("X:1") and (out / "best-2.mid").is_file()


def test_interactive_is_the_explicit_spelling_of_the_default_fitness(scorer_dir, tmp_path):
    out = tmp_path / "evo"
    result = invoke("--interactive", "--population", 2, "--generations", 1, "--scorer", scorer_dir, "-o", out,
                    *COMMON, stdin="3\n4\n")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "session.jsonl").read_text().splitlines()[0])["settings"]["fitness"] == "interactive"
    clash = invoke("--interactive", "--fitness", "listener", "--scorer", scorer_dir, "-o", tmp_path / "x", *COMMON)
    assert clash.exit_code == 2 and "--interactive means --fitness interactive" in clash.stderr


def test_help_states_every_default():
    from musegen_cli.cli.evolve import CONFIG_ONLY, DEFAULTS

    result = CliRunner().invoke(app, ["evolve", "--help"], env={"COLUMNS": "400", "TERMINAL_WIDTH": "400"})
    text = " ".join(result.output.split())
    for name, value in DEFAULTS.items():
        assert f"(default {value}" in text, name
    for name, value in CONFIG_ONLY.items():
        assert f"{name} ({value})" in text, name
    assert "--interactive" in text


def test_the_stated_defaults_are_the_ones_used():
    from musegen_cli.cli.evolve import CONFIG_ONLY, DEFAULTS
    from musegen_cli.evolution.genomes import DIRECTION_BOUND
    from musegen_cli.evolution.search import SearchSettings

    built = SearchSettings()
    assert (DEFAULTS["population"], DEFAULTS["generations"], DEFAULTS["workers"]) == (
        built.population, built.generations, built.workers)
    assert CONFIG_ONLY["tournament"] == str(built.tournament) and CONFIG_ONLY["eta"] == str(built.eta)
    assert CONFIG_ONLY["crossover_rate"] == str(built.crossover_rate) and built.elitist
    assert built.mutation_probability is None and built.stdev is None
    assert CONFIG_ONLY["bound"].startswith(f"{DIRECTION_BOUND} for --directions")


def test_undo_takes_back_the_last_rating(scorer_dir, tmp_path):
    out = tmp_path / "evo"
    result = invoke("--population", 2, "--generations", 1, "--scorer", scorer_dir, "-o", out, *COMMON,
                    stdin="4\nu\n3\n5\ns\n2\n")
    assert result.exit_code == 0, result.output
    events = [json.loads(line)["event"] for line in (out / "session.jsonl").read_text().splitlines()]
    assert events[:5] == ["start", "rate", "undo", "rate", "rate"]


def test_bad_requests_are_one_line_errors(scorer_dir, tmp_path):
    cases = [
        (("--fitness", "text"), "needs --text"),
        (("--fitness", "interactive", "--workers", 2), "cannot ask a person"),
        (("--choose", "timbre"), "cannot choose 'timbre'"),
        (("--searcher", "annealing"), "unknown searcher"),
        (("--resume", tmp_path / "none.jsonl"), "no session file"),
    ]
    for args, message in cases:
        result = invoke(*args, "--scorer", scorer_dir, "-o", tmp_path / "x", *COMMON)
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
    (tmp_path / "bad.toml").write_text("population = 4\ntemperature = 2\n")
    result = invoke("--config", tmp_path / "bad.toml", "--scorer", scorer_dir, "-o", tmp_path / "y", *COMMON)
    assert result.exit_code == 2 and "unknown setting 'temperature'" in result.stderr


def test_contradicting_condition_choices_are_penalised_not_fatal(scorer_dir, tmp_path):
    out = tmp_path / "evo"
    result = invoke("--fitness", "listener", "--choose", "emotion,mode", "--population", 4, "--generations", 1,
                    "--penalty", 5, "--scorer", scorer_dir, "-o", out, *COMMON, "--json")
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)["best"]
    contradictions = [b for b in best if ("Q1" in b["controls"] or "Q4" in b["controls"]) == ("minor" in b["controls"])]
    assert contradictions and all(b["fitness"] <= 0.0 for b in contradictions)  # at most 5, less the penalty of 5
