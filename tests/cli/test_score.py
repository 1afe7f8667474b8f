"""`musegen score`: inputs (files, folders, stdin, multi-tune ABC), table and JSON output,
and how bad input is reported."""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from musegen_cli.cli.app import app

TUNES = Path(__file__).parents[1] / "data" / "tunes"


def run(*args: object, stdin: str | bytes | None = None):
    return CliRunner().invoke(app, ["score", *map(str, args)], input=stdin)


def rows(*args: object, stdin: str | bytes | None = None) -> list[dict]:
    result = run(*args, "--json", stdin=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_table_by_default() -> None:
    result = run(TUNES / "ador_reel.abc")
    assert result.exit_code == 0
    assert "ador_reel.abc" in result.stdout
    assert "A dorian" in result.stdout and "Q2" in result.stdout


def test_features_flag_is_the_default_kind() -> None:
    assert rows(TUNES / "slow_air_f.abc", "--features") == rows(TUNES / "slow_air_f.abc")


def test_json_row_carries_the_piece_name_and_every_feature() -> None:
    (row,) = rows(TUNES / "dmix_jig.abc")
    assert row["piece"] == str(TUNES / "dmix_jig.abc")
    assert row["declared_key"] == "D mixolydian" and row["tempo_qpm"] == 120.0
    assert row["duration_seconds"] == 11.75 and row["quadrant"] == "Q1"


def test_multi_tune_file_gives_a_row_per_tune_named_by_x() -> None:
    found = rows(TUNES / "two_tunes.abc")
    assert [r["piece"] for r in found] == [f"{TUNES / 'two_tunes.abc'}#21", f"{TUNES / 'two_tunes.abc'}#22"]
    assert [r["declared_key"] for r in found] == ["E minor", "D major"]


def test_stdin() -> None:
    (row,) = rows("-", stdin=(TUNES / "ador_reel.abc").read_text())
    assert row["piece"] == "<stdin>" and row["quadrant"] == "Q2"


def test_stdin_with_forced_format() -> None:
    (row,) = rows("-", "--from", "midi", stdin=(TUNES / "ador_reel.abc").read_text())
    assert row["parses"] is False and "MIDI" in row["error"]


def test_folders_are_searched_recursively_for_known_formats(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(TUNES / "slow_air_f.abc", tmp_path / "air.abc")
    shutil.copy(TUNES / "two_tunes.abc", nested / "pair.abc")
    (nested / "notes.txt").write_text("not music")
    from musegen_cli.notation.formats import parse_score

    parse_score((TUNES / "ador_reel.abc").read_bytes(), "abc").write("musicxml", fp=nested / "reel.musicxml")
    found = rows(tmp_path)
    assert sorted(Path(r["piece"]).name for r in found) == [
        "air.abc", "pair.abc#21", "pair.abc#22", "reel.musicxml"
    ]
    reel = next(r for r in found if r["piece"].endswith("reel.musicxml"))
    assert reel["declared_key"] == "A dorian" and reel["tempo_qpm"] == 240.0


def test_unparseable_pieces_are_rows_not_failures(tmp_path: Path) -> None:
    (tmp_path / "garbage.mid").write_bytes(b"this is not a MIDI file")
    (tmp_path / "mystery.dat").write_bytes(b"\x00\x01\x02")
    found = rows(TUNES / "no_key_field.abc", tmp_path / "garbage.mid", tmp_path / "mystery.dat")
    assert [r["parses"] for r in found] == [False, False, False]
    assert "K:" in found[0]["error"]
    assert "MIDI" in found[1]["error"]
    assert "extension" in found[2]["error"]
    table = run(TUNES / "no_key_field.abc")
    assert table.exit_code == 0
    assert "no K: (key) field" in table.stdout


def test_files_without_extension_are_recognised_by_content(tmp_path: Path) -> None:
    shutil.copy(TUNES / "slow_air_f.abc", tmp_path / "air")
    (row,) = rows(tmp_path / "air")
    assert row["parses"] is True and row["declared_key"] == "F major"


def test_missing_path_is_a_one_line_error() -> None:
    result = run(TUNES / "missing.abc")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"musegen: error: no such file or folder: {TUNES / 'missing.abc'}"


def test_unknown_from_format_is_an_error() -> None:
    result = run(TUNES / "dmix_jig.abc", "--from", "mp3")
    assert result.exit_code == 2
    assert "mp3" in result.stderr


def test_help_has_worked_examples() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout and "musegen score tunes/ --json" in result.stdout


def test_binary_abc_is_an_unparseable_row_not_a_crash(tmp_path):
    garbage = tmp_path / "garbage.abc"
    garbage.write_bytes(b"X:1\x00\x01\x02")
    result = run(garbage, "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["parses"] is False and "binary data" in row["error"]
