"""`musegen convert`: stdin pipelines, files, folders with bad files among good ones, and how
every kind of bad input is reported (one line, exit code 2, no output file left behind)."""

import io
import json
import os
import shutil
from pathlib import Path

import mido
import pytest
from typer.testing import CliRunner

from musegen_cli.cli.app import app
from musegen_cli.notation.fidelity import compare_scores
from musegen_cli.notation.formats import parse_score

CORRUPT = Path(__file__).parents[1] / "data" / "corrupt"
TUNE = "X:1\nT:Air\nM:3/4\nL:1/8\nK:Dmix\nD2|F2 A2 d2|c6|]\n"
BOOK = TUNE + "\nX:2\nT:Jig\nM:6/8\nL:1/8\nK:G\nGAB cBA|G3 G3|]\n"


def run(*args: object, stdin: str | bytes | None = None):
    return CliRunner().invoke(app, ["convert", *map(str, args)], input=stdin)


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_stdin_pipeline_abc_to_musicxml_and_back() -> None:
    to_xml = run("--to", "musicxml", "-", stdin=TUNE)
    assert to_xml.exit_code == 0, to_xml.stderr
    assert "<score-partwise" in to_xml.stdout
    back = run("--to", "abc", "--from", "musicxml", "-", stdin=to_xml.stdout)
    assert back.exit_code == 0, back.stderr
    assert "K:Dmix" in back.stdout
    assert compare_scores(parse_score(TUNE.encode(), "abc"), parse_score(back.stdout.encode(), "abc")).same


def test_binary_midi_goes_to_stdout() -> None:
    result = run("--to", "midi", "-", stdin=TUNE)
    assert result.exit_code == 0
    song = mido.MidiFile(file=io.BytesIO(result.stdout_bytes))
    assert [m.note for t in song.tracks for m in t if m.type == "note_on" and m.velocity] == [62, 66, 69, 74, 72]


def test_file_to_named_output_file(tmp_path: Path) -> None:
    source = tmp_path / "air.abc"
    source.write_text(TUNE)
    result = run(source, "--to", "svg", "-o", tmp_path / "air.svg")
    assert result.exit_code == 0, result.stderr
    assert "<svg" in (tmp_path / "air.svg").read_text()


def test_multi_tune_file_gives_one_output_per_tune(tmp_path: Path) -> None:
    source = tmp_path / "book.abc"
    source.write_text(BOOK)
    result = run(source, "--to", "midi", "-o", tmp_path / "midi")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "midi").iterdir()) == ["book-1.mid", "book-2.mid"]
    to_stdout = run(source, "--to", "musicxml")
    assert to_stdout.exit_code == 2 and "holds 2 tunes" in error_line(to_stdout)


def test_folder_batch_converts_good_files_and_names_every_failure(tmp_path: Path) -> None:
    from music21 import corpus

    chorale_bytes = Path(corpus.getWork("bach/bwv66.6")).read_bytes()
    scores = tmp_path / "scores"
    (scores / "sub").mkdir(parents=True)
    (scores / "air.abc").write_text(TUNE)
    (scores / "sub" / "chorale.mxl").write_bytes(chorale_bytes)
    shutil.copy(CORRUPT / "truncated.musicxml", scores / "truncated.musicxml")
    shutil.copy(CORRUPT / "garbage.mid", scores / "sub" / "garbage.mid")
    (scores / "README.txt").write_text("not music, not converted")
    result = run(scores, "--to", "abc", "-o", tmp_path / "abc")
    assert result.exit_code == 2
    assert sorted(p.relative_to(tmp_path / "abc").as_posix() for p in (tmp_path / "abc").rglob("*")) == [
        "air.abc",
        "sub",
        "sub/chorale.abc",
    ]
    assert "converted 2 of 4 inputs; wrote 2 files" in result.stderr
    assert "failed: " + str(scores / "sub" / "garbage.mid") + ": not valid MIDI" in result.stderr
    assert "failed: " + str(scores / "truncated.musicxml") + ": not valid MusicXML" in result.stderr


def test_json_summary(tmp_path: Path) -> None:
    source = tmp_path / "book.abc"
    source.write_text(BOOK + "\nX:3\nT:Empty\nK:G\n")  # the third tune has no notes: it fails
    result = run(source, "--to", "musicxml", "-o", tmp_path / "out", "--json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["converted"] == 0 and summary["failed"] == 1
    (entry,) = summary["results"]
    assert entry["outputs"] == [str(tmp_path / "out" / f"book-{n}.musicxml") for n in (1, 2)]
    assert entry["errors"] == ["tune X:3: no notes found in the ABC input"]


@pytest.mark.parametrize("path", sorted(CORRUPT.iterdir()), ids=lambda p: p.name)
def test_each_corrupt_file_is_one_line_exit_2_and_no_output(tmp_path: Path, path: Path) -> None:
    target = tmp_path / "out.musicxml"
    result = run(path, "--to", "musicxml", "-o", target)
    assert result.exit_code == 2
    assert error_line(result).startswith(f"musegen: error: {path}: ")
    assert list(tmp_path.iterdir()) == []


def test_missing_path_and_bad_choices() -> None:
    missing = run("no/such/tune.abc", "--to", "abc")
    assert missing.exit_code == 2 and error_line(missing) == "musegen: error: no such file: no/such/tune.abc"
    bad_target = run("-", "--to", "pdf", stdin=TUNE)
    assert bad_target.exit_code == 2 and "--to 'pdf' is not one of" in error_line(bad_target)
    folder_to_stdout = run(CORRUPT, "--to", "abc")
    assert folder_to_stdout.exit_code == 2 and "needs -o FOLDER" in error_line(folder_to_stdout)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unwritable_output_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run("-", "--to", "abc", "-o", locked / "tune.abc", stdin=TUNE)
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2 and "cannot write to" in error_line(result)
    assert list(locked.iterdir()) == []


def test_output_under_a_file_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    result = run("-", "--to", "abc", "-o", blocker / "tune.abc", stdin=TUNE)
    assert result.exit_code == 2 and "cannot write to" in error_line(result)


def test_help_has_worked_examples() -> None:
    result = CliRunner().invoke(app, ["convert", "--help"])
    assert result.exit_code == 0
    for example in ("cat tune.abc | musegen convert --to musicxml - > tune.musicxml", "--abc-layout interleaved"):
        assert example in result.stdout
