"""benchmarks/dpo_gain.py runs end to end on tiny settings (test family, debug scorer)."""

import json

from musegen_cli import registry
from tests.alignment import canned
from tests.benchmarks import load_benchmark


def test_dpo_gain_tiny(tmp_path, monkeypatch, capsys, scorer_dir):
    reg = registry.Registry()
    reg.register(canned.family())
    monkeypatch.setattr(registry, "_registry", reg)
    start = canned.make_model(tmp_path / "start")
    music = tmp_path / "ref"
    music.mkdir()
    (music / "a.abc").write_text(canned.POOL[2])
    bench = load_benchmark("dpo_gain")
    argv = ["--model", str(start), "--scorer", str(scorer_dir), "--samples", "4", "--emotion-iterations", "1",
            "--reference-iterations", "1", "--reference", str(music), "--lr", "1e-3", "--eval-samples", "3", "--device", "cpu",
            "--work", str(tmp_path / "work"), "--json"]
    assert bench.main(argv) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["sampled_from"] for r in runs["emotion"]] == ["start", "iter-1"]
    assert [r["sampled_from"] for r in runs["reference"]] == ["start", "iter-1"]
    assert all(r["mean_reward"] is not None for rows in runs.values() for r in rows)
    # every model measured again on the common seeds: eval-samples pieces per condition set
    assert [r["common"]["samples"] for r in runs["emotion"]] == [12, 12]
    assert [r["common"]["samples"] for r in runs["reference"]] == [12, 12]  # one set, four times the pieces
    assert bench.main(argv[:-1]) == 0  # resumes the finished runs and prints the table
    printed = capsys.readouterr().out
    assert "dpo gain per iteration" in printed and "emotion: reward rises every iteration" in printed
    assert " pt)" in printed  # each validity change, with its sampling error


def test_validity_changes_come_with_their_sampling_error():
    bench = load_benchmark("dpo_gain")
    rows = [{"common": {"valid": 0.5, "samples": 100}}, {"common": {"valid": 0.6, "samples": 100}}]
    assert bench.validity_changes(rows) == ["+10.0 ± 7.0 pt"]


def test_a_fall_is_a_drop_beyond_sampling_noise_and_the_reward_must_rise():
    bench = load_benchmark("dpo_gain")

    def rows(*points):
        return [{"common": {"valid": valid, "mean_reward": reward, "samples": 500}} for valid, reward in points]

    within_noise = rows((0.97, 0.5), (0.96, 0.6))  # -1.0 pt against a standard error of 1.1
    assert bench.rises(within_noise) and not bench.never_lower(within_noise)
    assert not bench.rises(rows((0.97, 0.5), (0.92, 0.6)))  # -5 pt: a fall
    assert not bench.rises(rows((0.97, 0.5), (0.98, 0.5)))  # the reward did not rise
    assert bench.rises(rows((0.97, 0.5), (0.98, 0.6))) and bench.never_lower(rows((0.97, 0.5), (0.98, 0.6)))
    drift = rows((0.97, 0.5), (0.96, 0.6), (0.95, 0.7), (0.94, 0.8))  # each step within noise, -3 pt in all
    assert not bench.rises(drift)
