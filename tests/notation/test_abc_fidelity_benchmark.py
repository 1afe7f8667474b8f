"""The yardstick against abc2midi: its helpers (benchmarks/abc_reference.py) and a small run
of benchmarks/abc_fidelity.py."""

from __future__ import annotations

import io
import json

import mido
import pytest

from benchmarks.abc_reference import (
    Note,
    abc2midi_midi,
    find_abc2midi,
    first_difference,
    hanging_notes,
    in_order,
    melody_only,
    midi_notes,
    reference_tune,
)
from tests.benchmarks import load_benchmark

TUNE = 'X:3\nT:Reel\nR:hornpipe\n%%MIDI gchord fzcz\n%%MIDI program 40\nM:4/4\nL:1/8\nK:G\n'
BODY = '"G"~c2 {ag}d2 .e2 Tf !trill!g|!p!a R!2!b [K:D] "^up" c "" d\nw: la "la" ~ la\n'
needs_abc2midi = pytest.mark.skipif(find_abc2midi() is None, reason="abc2midi is not installed (apt-get install abcmidi)")


def midi_file(*tracks: list[tuple[str, int, int, int]]) -> bytes:
    """A MIDI file of (message type, channel, pitch, delta ticks) tracks, 480 ticks per quarter."""
    song = mido.MidiFile(ticks_per_beat=480)
    for messages in tracks:
        song.tracks.append(
            mido.MidiTrack(mido.Message(kind, channel=channel, note=pitch, velocity=64, time=ticks)
                           for kind, channel, pitch, ticks in messages)
        )
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


def test_melody_only_removes_what_players_perform_and_keeps_the_notes() -> None:
    melody = melody_only(TUNE + BODY)
    assert melody.split("\n")[2:7] == ["%%MIDI program 40", "M:4/4", "L:1/8", "K:G", "c2 d2 e2 f g|!p!a !2!b [K:D]  c  d"]
    assert "R:" not in melody and "gchord" not in melody
    assert 'w: la "la" ~ la' in melody  # lyrics are not music code


def test_reference_tune_moves_the_file_header_below_x_and_adds_the_preamble() -> None:
    lines = reference_tune("L:1/16\n%%MIDI trim 1/8\nX:4\nT:t\nK:C\nC|]\n").split("\n")
    assert lines[:4] == ["X:4", "L:1/16", "%%MIDI chordattack 0", "%%MIDI ratio 3 1"]
    assert "%%MIDI trim 1/8" not in lines


def test_midi_notes_merge_tracks_and_leave_out_the_drums() -> None:
    data = midi_file(
        [("note_on", 0, 60, 0), ("note_off", 0, 60, 480), ("note_on", 0, 64, 0), ("note_off", 0, 64, 240)],
        [("note_on", 1, 48, 0), ("note_on", 9, 36, 0), ("note_off", 9, 36, 10), ("note_off", 1, 48, 950)],
    )
    assert midi_notes(data) == [Note(0.0, 48, 2.0), Note(0.0, 60, 1.0), Note(1.0, 64, 0.5)]
    assert hanging_notes(data) == 0


def test_hanging_notes_counts_notes_never_switched_off_and_struck_again() -> None:
    never_off = midi_file([("note_on", 0, 60, 0), ("note_on", 0, 62, 480), ("note_off", 0, 62, 480)])
    struck_again = midi_file([("note_on", 0, 60, 0), ("note_on", 0, 60, 240), ("note_off", 0, 60, 240)])
    assert hanging_notes(never_off) == 1
    assert hanging_notes(struck_again) == 2  # struck while sounding, and one of the two never ends


def test_first_difference_allows_tick_rounding_and_names_the_first_note_that_differs() -> None:
    written = [Note(0, 60, 1), Note(1, 62, 1 / 3), Note(1 + 1 / 3, 64, 2 / 3)]
    played = [Note(0.002, 60, 0.998), Note(1.002, 62, 0.331), Note(1.335, 64, 0.665)]
    assert first_difference(written, played) is None
    assert first_difference(written, played[:1] + [Note(1.002, 63, 0.331)] + played[2:]).index == 1
    shorter = first_difference(written, played[:2])
    assert (shorter.index, shorter.got) == (2, None)
    assert "expected E4 at 1.333 for 0.667, got nothing" in shorter.describe()


def test_in_order_sorts_notes_that_start_together_by_pitch() -> None:
    assert in_order([Note(0.002, 67, 1), Note(0.0, 64, 1), Note(0.001, 60, 1)]) == [
        Note(0.001, 60, 1), Note(0.0, 64, 1), Note(0.002, 67, 1)
    ]


@needs_abc2midi
def test_abc2midi_plays_the_notation_not_a_performance() -> None:
    """Chord notes start together, a>b is 3:1, the fermata does not double its note."""
    notes = midi_notes(abc2midi_midi("X:1\nT:t\nM:4/4\nL:1/4\nK:C\n[CEG] A>B Hc2|]\n"))
    expected = [Note(0, 60, 1), Note(0, 64, 1), Note(0, 67, 1), Note(1, 69, 1.5), Note(2.5, 71, 0.5), Note(3, 72, 2)]
    assert first_difference(expected, notes) is None


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "two.abc").write_text(
        "X:1\nT:One\nM:4/4\nL:1/4\nK:C\n\"C\"C D E F|G4|]\n\nX:2\nT:Two\nM:3/4\nL:1/8\nK:G\nG2 A2 B2|d6|]\n"
    )
    return folder


@needs_abc2midi
def test_benchmark_compares_every_tune_with_abc2midi(corpus, capsys) -> None:
    bench = load_benchmark("abc_fidelity")
    assert bench.main(["--corpus", str(corpus), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["corpora"]
    assert (row["corpus"], row["tunes"], row["converted"], row["abc2midi_played"]) == ("book", 2, 1.0, 2)
    assert row["equal_to_abc2midi"] == 1.0 and row["mismatches"] == []
    assert row["tunes_per_second"] > 0


def test_benchmark_without_abc2midi_says_how_to_install_it(corpus, capsys, monkeypatch) -> None:
    bench = load_benchmark("abc_fidelity")
    monkeypatch.setattr(bench, "find_abc2midi", lambda: None)
    assert bench.main(["--corpus", str(corpus / "two.abc"), "--limit", "1"]) == 0
    out, err = capsys.readouterr()
    assert "apt-get install abcmidi" in err
    assert "two.abc" in out and "converted" in out and "= abc2midi" not in out


def test_benchmark_refuses_a_missing_corpus(tmp_path, capsys) -> None:
    bench = load_benchmark("abc_fidelity")
    assert bench.main(["--corpus", str(tmp_path / "nowhere"), "--reference", "none"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
