"""Reading ratings: keys from lines, the ask loop, and playback without a sound card."""

from __future__ import annotations

import io

from musegen_cli.evolution.rater import LineKeys, Player, Response, ask

REEL = "X:1\nM:4/4\nL:1/8\nK:D\nA2FA DAFA|B2GB dBGB|\n"


def run(keys: str) -> tuple[Response, int, list[str]]:
    plays: list[int] = []
    said: list[str] = []
    response = ask(LineKeys(io.StringIO(keys)), lambda: plays.append(1), said.append)
    return response, len(plays), said


def test_a_digit_rates_and_r_replays_first():
    assert run("r\nr\n4\n") == (Response("rate", 4, False), 2, [])


def test_f_marks_a_favourite_then_waits_for_the_rating_or_a_skip():
    response, _, said = run("f\n5\n")
    assert response == Response("rate", 5, True) and "favourite" in said[0]
    assert run("f\ns\n")[0] == Response("skip", None, True)


def test_undo_quit_end_of_input_and_unknown_keys():
    assert run("u\n")[0] == Response("undo")
    assert run("q\n")[0] == Response("quit")
    assert run("")[0] == Response("quit")
    response, _, said = run("x\n9\n2\n")
    assert response == Response("rate", 2) and len(said) == 2 and "1-5 rate" in said[0]


def test_without_a_sound_card_the_piece_is_written_as_wav(tmp_path):
    said: list[str] = []
    path = Player(tmp_path, said.append, audio=False).play(REEL, "g0-c1")
    assert path == tmp_path / "g0-c1.wav" and path.read_bytes()[:4] == b"RIFF"
    assert str(path) in said[0]
    assert Player(tmp_path, said.append, audio=False).play("not music at all", "bad") is None
