import pytest

from musegen_cli.contract import GenerateRequest
from musegen_cli.errors import UserError
from musegen_cli.generation import generate_checked, parse_formats, write_piece

GOOD = "X:1\nT:Good\nM:4/4\nL:1/8\nK:G\nGABc dedB|c2A2 G4|]\n"
OFF_METER = "X:1\nT:Off\nM:4/4\nL:1/8\nK:G\nGABc dedB c|c2A2 G4|]\n"  # first bar has 9 eighths


class ScriptedModel:
    """Returns the next scripted batch on each call and records the seeds it was given."""

    def __init__(self, batches):
        self.batches = list(batches)
        self.seeds = []

    def generate(self, request):
        self.seeds.append(request.seed)
        return self.batches.pop(0)[: request.count]

    def known_conditions(self):
        return {}


def test_invalid_pieces_are_resampled_with_new_deterministic_seeds():
    model = ScriptedModel([[GOOD, OFF_METER, OFF_METER], [OFF_METER, GOOD], [GOOD]])
    pieces = generate_checked(model, GenerateRequest(conditions={}, count=3, seed=5), retry_invalid=3)
    assert [p.valid for p in pieces] == [True, True, True]
    assert [p.attempts for p in pieces] == [1, 3, 2]
    assert model.seeds == [5, 5 + 1_000_003, 5 + 2 * 1_000_003]


def test_without_retries_invalid_pieces_are_reported_not_hidden():
    model = ScriptedModel([[OFF_METER]])
    (piece,) = generate_checked(model, GenerateRequest(conditions={}, count=1, seed=1))
    assert not piece.valid and piece.features.bars_off_meter == 1
    assert piece.verdict.reasons == ("1 bar off the meter",)


def test_the_strict_check_refuses_what_the_bar_lengths_alone_let_through():
    slur = GOOD.replace("GABc", "(GABc")  # a slur never closed
    model = ScriptedModel([[slur]])
    (piece,) = generate_checked(model, GenerateRequest(conditions={}, count=1, seed=1))
    assert piece.features.bars_off_meter == 0 and not piece.valid
    assert piece.verdict.reasons == ("a slur is never closed",)


def test_formats_are_checked():
    assert parse_formats("abc, MIDI") == ["abc", "midi"]
    with pytest.raises(UserError, match="unknown format 'mp3'"):
        parse_formats("abc,mp3")


def test_write_piece_in_every_format(tmp_path):
    written, problems = write_piece(GOOD, tmp_path / "piece-001", ["abc", "midi", "wav", "musicxml"])
    assert problems == []
    assert [p.name for p in written] == ["piece-001.abc", "piece-001.mid", "piece-001.wav", "piece-001.musicxml"]
    assert (tmp_path / "piece-001.mid").read_bytes().startswith(b"MThd")
    assert (tmp_path / "piece-001.wav").read_bytes()[:4] == b"RIFF"


def test_an_unconvertible_piece_keeps_its_abc_and_says_why(tmp_path):
    written, problems = write_piece("X:1\nABC|\n", tmp_path / "bad", ["abc", "midi"])
    assert [p.name for p in written] == ["bad.abc"]
    assert len(problems) == 1 and problems[0].startswith("bad: cannot write midi:")


def test_streaming_passes_text_on_as_it_comes_and_checks_the_whole():
    from musegen_cli.generation import can_stream, generate_streaming

    class Streamer(ScriptedModel):
        def stream(self, request):
            yield 0, "X:1\nT:Good\nM:4/4\nL:1/8\nK:G\n"
            yield 0, "GABc dedB|"
            yield 0, "c2A2 G4|]\n"

    seen = []
    model = Streamer([])
    assert can_stream(model) and not can_stream(ScriptedModel([]))
    piece = generate_streaming(model, GenerateRequest(conditions={}, count=1, seed=1), seen.append)
    assert len(seen) == 3 and piece.abc == "".join(seen) == GOOD and piece.valid


def test_strict_conditions_resample_a_piece_that_misses_one():
    jig = GOOD.replace("M:4/4", "M:6/8").replace("GABc dedB|c2A2 G4|]", "GAB cde|d3 B3|]")
    request = GenerateRequest(conditions={"meter": "4/4"}, count=1, seed=2)
    (kept,) = generate_checked(ScriptedModel([[jig]]), request)
    assert kept.valid and [(m.name, m.found) for m in kept.misses] == [("meter", "6/8")]
    (strict,) = generate_checked(ScriptedModel([[jig], [jig], [GOOD]]), request, strict_conditions=True)
    assert strict.abc == GOOD and strict.attempts == 3 and not strict.misses
