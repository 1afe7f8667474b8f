"""Conversion to every target: MIDI, MusicXML, WAV, SVG, ABC; multi-tune files; the MIDI fallback."""

import io
import wave

import mido
import pytest

from musegen_cli.errors import UserError
from musegen_cli.notation.conversion import convert, to_midi, to_musicxml
from musegen_cli.notation.fidelity import compare_scores
from musegen_cli.notation.formats import parse_score

TUNE = b"X:7\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nCDEF|GABc|]\n"
BOOK = TUNE + b"\nX:8\nT:Broken\nK:\n\nX:9\nT:Second\nM:3/4\nL:1/8\nK:D\nDEF GAB|d6|]\n"


def midi_notes(data: bytes) -> list[int]:
    song = mido.MidiFile(file=io.BytesIO(data))
    return [m.note for track in song.tracks for m in track if m.type == "note_on" and m.velocity]


def sounding_pitches(score) -> list[int]:
    """MIDI numbers of the notes that start a sound (tied continuations left out)."""
    return [
        pitch.midi
        for note in score.recurse().notes
        if not (note.tie and note.tie.type in ("stop", "continue"))
        for pitch in note.pitches
    ]


def test_midi_holds_every_note_and_reads_back() -> None:
    (piece,) = convert(TUNE, "abc", "midi")
    assert midi_notes(piece.outputs[0]) == [60, 62, 64, 65, 67, 69, 71, 72]
    back = parse_score(piece.outputs[0], "midi")
    assert compare_scores(parse_score(TUNE, "abc"), back).same


def test_musicxml_round_trip_keeps_short_bars(corpus_tune) -> None:
    # a reel with a pickup and a short bar before the repeat: music21's exporter would pad it
    score = parse_score(corpus_tune("nottingham-dataset/reelsa-c.abc", 1).encode(), "abc")
    assert compare_scores(score, parse_score(to_musicxml(score), "musicxml")).same


def test_midi_falls_back_to_a_musicxml_reparse(monkeypatch: pytest.MonkeyPatch) -> None:
    from music21.midi import translate

    real = translate.streamToMidiFile
    calls = []

    def flaky(score, *args, **kwargs):
        calls.append(score)
        if len(calls) == 1:
            raise translate.TranslateException("TimeSignature already found")
        return real(score, *args, **kwargs)

    monkeypatch.setattr(translate, "streamToMidiFile", flaky)
    score = parse_score(TUNE, "abc")
    assert midi_notes(to_midi(score)) == [60, 62, 64, 65, 67, 69, 71, 72]
    assert len(calls) == 2 and calls[1] is not score


def test_wav_is_16_bit_and_lasts_as_long_as_the_music() -> None:
    (piece,) = convert(TUNE, "abc", "wav", synth="simple")
    with wave.open(io.BytesIO(piece.outputs[0])) as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        seconds = audio.getnframes() / audio.getframerate()
    assert 4.0 <= seconds <= 4.5  # 8 quarter notes at 120 per minute, plus the release


def test_svg_is_sheet_music(chorale_bytes: bytes) -> None:
    (piece,) = convert(chorale_bytes, "musicxml", "svg")
    svg = piece.outputs[0].decode()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<svg" in svg
    assert svg.count('class="note"') >= 100


def test_multi_tune_abc_gives_one_piece_per_tune_and_names_the_bad_one() -> None:
    pieces = convert(BOOK, "abc", "midi")
    assert [p.label for p in pieces] == ["7", "8", "9"]
    assert pieces[1].error and not pieces[1].outputs
    assert midi_notes(pieces[2].outputs[0])[:3] == [62, 64, 66]


def test_multi_tune_abc_to_abc_stays_one_file_with_its_tune_numbers() -> None:
    pieces = convert(BOOK, "abc", "abc")
    assert [p.label for p in pieces] == ["", "8"]
    text = pieces[0].outputs[0].decode()
    assert text.count("X:") == 2 and "X:7\n" in text and "X:9\n" in text


def test_unknown_target_is_a_user_error() -> None:
    with pytest.raises(UserError, match="cannot write 'pdf'"):
        convert(TUNE, "abc", "pdf")



def test_bars_longer_than_their_meter_export_to_midi_directly(corpus_tune) -> None:
    # music21 cuts such bars and shares one TimeSignature between the pieces, after which
    # its own MIDI export fails with "TimeSignature already found"; our reader unshares them
    from music21 import converter
    from music21.midi.translate import streamToMidiFile

    tune = corpus_tune("essenFolksong/han1.abc", 504)
    with pytest.raises(Exception, match="already found"):
        streamToMidiFile(converter.parseData(tune, format="abc")).writestr()
    score = parse_score(tune.encode(), "abc")
    assert midi_notes(streamToMidiFile(score).writestr()) == sounding_pitches(score)
    assert compare_scores(score, parse_score(to_musicxml(score), "musicxml")).same


def test_midi_plays_badly_formed_repeats_once(corpus_tune) -> None:
    score = parse_score(corpus_tune("oneills1850/0626-0700.abc", 62).encode(), "abc")
    assert midi_notes(to_midi(score)) == sounding_pitches(score)
