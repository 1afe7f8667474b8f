"""musegen's ABC reader: errors that name the place, what it skips, MIDI that plays."""

from __future__ import annotations

import io

import mido
import pytest

from musegen_cli.errors import UserError
from musegen_cli.notation.abc import AbcReadError, perform, read_tune
from musegen_cli.notation.abc.fields import read_play_order
from musegen_cli.notation.abc.midi import chord_pitches, tune_to_midi
from musegen_cli.notation.conversion import convert


def played(text: str) -> list[int]:
    return [note.pitch for note in perform(read_tune(text)).notes]


def test_an_unreadable_tune_names_the_tune_line_column_and_what_was_expected() -> None:
    tune = 'X:7\nT:The Kesh\nM:6/8\nL:1/8\nK:G\nGAG GAB|\nABA B/0|\n'
    with pytest.raises(AbcReadError) as caught:
        read_tune(tune)
    message = str(caught.value)
    assert message == 'cannot read ABC X:7 "The Kesh", line 7, column 8: expected a note length with a non-zero denominator'
    assert "\n" not in message and "GAG" not in message  # one line, the tune's body not dumped


def test_a_tune_without_key_or_notes_is_a_user_error() -> None:
    with pytest.raises(UserError, match="K:"):
        read_tune("X:1\nT:t\nM:4/4\n")
    with pytest.raises(UserError, match="no notes"):
        read_tune("X:1\nT:t\nK:G\n")


def test_a_multi_tune_file_converts_every_tune_it_can_and_names_each_it_cannot() -> None:
    book = "X:1\nT:Good\nK:G\nGABc|\n\nX:2\nT:Bad\nK:G\nGA [K:D|\n\nX:3\nT:Also good\nK:D\nDEFG|\n"
    pieces = convert(book.encode(), "abc", "midi")
    assert [p.error is None for p in pieces] == [True, False, True]
    assert pieces[1].error == 'cannot read ABC X:2 "Bad", line 4, column 4: expected \']\' closing the inline field'


def test_unknown_characters_are_skipped_with_a_warning_that_says_where() -> None:
    tune = read_tune("X:1\nK:C\nC D # E|\n")
    assert [n.pitch for n in perform(tune).notes] == [60, 62, 64]
    assert tune.warnings == ["line 3, column 5: unexpected character '#' skipped"]


def test_a_tie_written_after_a_space_still_ties() -> None:
    assert played("X:1\nL:1/8\nK:G\nG3 -G2 A|\n") == [67, 69]


def test_body_parts_are_labels_without_a_header_play_order() -> None:
    # abc2midi: `:|` repeats from the top; `P:` in the body does not start a section
    assert played("X:1\nL:1/8\nK:C\nP:A\nC D|E F||\nP:B\nG A:|\n") == [60, 62, 64, 65, 67, 69] * 2
    # with a play order, each part repeats on its own
    assert played("X:1\nL:1/8\nP:BA\nK:C\nP:A\nC D:|\nP:B\nG A:|\n") == [67, 69, 67, 69, 60, 62, 60, 62]


@pytest.mark.parametrize(
    ("text", "order"),
    [("AABB", list("AABB")), ("A2B", list("AAB")), ("(AB)2C", list("ABABC")), ("A.B.C", list("ABC")),
     ("A(ABB) times 4", []), ("AABA last time", []), ("B\\&B", [])],
)
def test_play_order(text: str, order: list[str]) -> None:
    assert read_play_order(text) == order


def test_midi_switches_every_note_off_and_keeps_chord_symbols_apart() -> None:
    tune = read_tune('X:1\nL:1/8\nK:C\n"G"c2 {a}d2 "C"e4|c2 c2 [ce]4|]\n')
    for chords in (False, True):
        midi = mido.MidiFile(file=io.BytesIO(tune_to_midi(tune, chords=chords)))
        sounding: set[tuple[int, int]] = set()
        for track in midi.tracks:
            for message in track:
                if message.type == "note_on" and message.velocity:
                    assert (message.channel, message.note) not in sounding
                    sounding.add((message.channel, message.note))
                elif message.type in ("note_on", "note_off"):
                    sounding.discard((message.channel, message.note))
        assert not sounding
        channels = {m.channel for t in midi.tracks for m in t if m.type == "note_on"}
        assert channels == ({0, 1} if chords else {0})


def test_chord_symbols_spell_their_chords() -> None:
    assert chord_pitches("G") == [55, 59, 62]
    assert chord_pitches("Am7") == [57, 60, 64, 67]
    assert chord_pitches("D7/F#") == [42, 50, 54, 57, 60]
    assert chord_pitches("Bbdim") == [58, 61, 64]
    assert chord_pitches("N.C.") == []


def test_midi_directives_set_program_channel_and_transpose() -> None:
    tune = read_tune("X:1\nL:1/4\nK:C\n%%MIDI program 73\n%%MIDI transpose -12\nC D|]\n")
    midi = mido.MidiFile(file=io.BytesIO(tune_to_midi(tune)))
    messages = [m for t in midi.tracks for m in t]
    assert any(m.type == "program_change" and m.program == 73 for m in messages)
    assert [m.note for m in messages if m.type == "note_on"] == [48, 50]


def test_writing_midi_from_abc_does_not_need_music21() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom musegen_cli.notation.conversion import convert\n"
        "convert(b'X:1\\nK:G\\nGABc|\\n', 'abc', 'midi')\n"
        "print('music21' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_voice_overlay_plays_beside_its_bar_and_repeats_with_it() -> None:
    tune = read_tune("X:1\nL:1/4\nK:C\n|:C D E F|G2 A2 & E2 F2:|\n")
    assert [v.id for v in tune.voices] == ["1", "1&1"] and tune.staff_groups == [["1", "1&1"]]
    notes = sorted((float(n.start * 4), n.pitch) for n in perform(tune).notes)
    once = [(0.0, 60), (1.0, 62), (2.0, 64), (3.0, 65), (4.0, 64), (4.0, 67), (6.0, 65), (6.0, 69)]
    assert notes == once + [(t + 8, p) for t, p in once]
