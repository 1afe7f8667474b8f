"""The evolve session file: append-only, resumable, and robust to a kill mid-write."""

from __future__ import annotations

import json

import pytest

from musegen_cli.errors import UserError
from musegen_cli.evolution.session import Session


def test_events_replay_into_ratings_skips_favourites_and_undos(tmp_path):
    path = tmp_path / "s.jsonl"
    session = Session.start(path, {"searcher": "ga", "seed": 1})
    session.rate((0, 0), 4, seed=11, genome=[0.1, 0.2])
    session.skip((0, 1), seed=12)
    session.rate((0, 2), 2, seed=13)
    session.favourite((0, 0))
    session.favourite((0, 2))
    session.undo((0, 2))
    session.rate((0, 2), 5, seed=13)
    state = Session.resume(path).state()
    assert state.settings == {"searcher": "ga", "seed": 1}
    assert state.ratings == {(0, 0): 4, (0, 1): None, (0, 2): 5}
    assert state.favourites == [(0, 0)] and state.rated == 2
    assert state.records[(0, 0)]["genome"] == [0.1, 0.2]


def test_each_event_is_on_disk_when_the_call_returns(tmp_path):
    path = tmp_path / "s.jsonl"
    session = Session.start(path, {"seed": 0})
    session.rate((1, 3), 3)
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1]) == {"event": "rate", "generation": 1, "candidate": 3, "rating": 3}


def test_a_line_cut_short_by_a_kill_is_dropped_on_resume(tmp_path):
    path = tmp_path / "s.jsonl"
    session = Session.start(path, {"seed": 0})
    session.rate((0, 0), 5)
    with path.open("a") as handle:
        handle.write('{"event":"rate","generation":0,"cand')
    resumed = Session.resume(path)
    assert resumed.state().ratings == {(0, 0): 5}
    resumed.rate((0, 1), 1)
    assert resumed.state().ratings == {(0, 0): 5, (0, 1): 1}


def test_sessions_are_never_overwritten_and_damage_is_reported(tmp_path):
    path = tmp_path / "s.jsonl"
    Session.start(path, {"seed": 0})
    with pytest.raises(UserError, match="already exists"):
        Session.start(path, {"seed": 0})
    with pytest.raises(UserError, match="no session file"):
        Session.resume(tmp_path / "missing.jsonl")
    (tmp_path / "other.jsonl").write_text('{"event": "rate"}\n')
    with pytest.raises(UserError, match="not a musegen evolve session"):
        Session.resume(tmp_path / "other.jsonl")
    path.write_text(path.read_text() + "not json\n" + '{"event":"quit"}\n')
    with pytest.raises(UserError, match="damaged"):
        Session(path).state()
    with pytest.raises(ValueError):
        Session(path).rate((0, 0), 9)
