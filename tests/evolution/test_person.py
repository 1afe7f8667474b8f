"""A person rating: a piece heard before in the session is not asked again, also after a resume."""

from __future__ import annotations

import io

from musegen_cli.analysis.features import analyze_abc
from musegen_cli.evolution.fitness import Candidate
from musegen_cli.evolution.genomes import Controls
from musegen_cli.evolution.person import Person
from musegen_cli.evolution.rater import LineKeys
from musegen_cli.evolution.session import Session

JIG = "X:1\nM:6/8\nL:1/8\nK:G\nGAB cBA|GAB c2d|edc BAG|A3 G3|\n"
REEL = "X:1\nM:4/4\nL:1/8\nK:D\nA2FA DAFA|B2GB dBGB|A2FA DAFA|d8|\n"
AIR = "X:1\nM:3/4\nL:1/4\nK:Am\nA B c|e2 d|c B A|E3|\n"


class SilentPlayer:
    def __init__(self) -> None:
        self.played: list[str] = []

    def play(self, abc: str, name: str) -> None:
        self.played.append(name)


def _generation(number: int, pieces: list[str]) -> list[Candidate]:
    return [Candidate(number, i, [float(number), float(i)], 7, Controls({}, []), abc, analyze_abc(abc))
            for i, abc in enumerate(pieces)]


def _person(session: Session, keys: str, said: list[str]) -> Person:
    return Person(session, session.state(), LineKeys(io.StringIO(keys)), SilentPlayer(), said.append, 2)


def test_a_piece_heard_before_is_not_asked_again_and_its_rating_is_shown(tmp_path):
    session = Session.start(tmp_path / "s.jsonl", {"seed": 7})
    said: list[str] = []
    person = _person(session, "4\n2\n5\n", said)
    assert person.rate(_generation(0, [JIG, REEL, JIG])) == [4, 2, 4]  # the second JIG reuses its 4
    assert person.rate(_generation(1, [REEL, AIR])) == [2, 5]
    rated = [e for e in session.events() if e["event"] == "rate"]
    assert [(e["generation"], e["candidate"], e["rating"]) for e in rated] == [(0, 0, 4), (0, 1, 2), (1, 1, 5)]
    assert any("heard before (generation 1, candidate 1): rated 4" in line for line in said)
    assert any("heard before (generation 1, candidate 2): rated 2" in line for line in said)


def test_undo_steps_back_over_repeats_to_the_last_piece_asked(tmp_path):
    session = Session.start(tmp_path / "s.jsonl", {"seed": 7})
    # JIG 4, REEL 2, (JIG again: reused), then u takes back REEL's 2: REEL 3, JIG reused, AIR 1
    person = _person(session, "4\n2\nu\n3\n1\n", [])
    assert person.rate(_generation(0, [JIG, REEL, JIG, AIR])) == [4, 3, 4, 1]
    assert Session(session.path).state().ratings == {(0, 0): 4, (0, 1): 3, (0, 3): 1}


def test_a_resumed_session_replays_and_still_reuses_ratings(tmp_path):
    path = tmp_path / "s.jsonl"
    first = Session.start(path, {"seed": 7})
    _person(first, "4\n2\n", []).rate(_generation(0, [JIG, REEL]))
    said: list[str] = []
    person = _person(Session.resume(path), "5\n", said)
    assert person.rate(_generation(0, [JIG, REEL])) == [4, 2]
    assert person.rate(_generation(1, [REEL, AIR])) == [2, 5]  # REEL reused from the replayed ratings
    assert person.replayed == 2 and said[0] == f"replayed 2 ratings from {path}"
