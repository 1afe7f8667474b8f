"""A pickup survives ABC -> MIDI -> ABC: musegen's marker, abc2midi's accents, note lengths."""

from __future__ import annotations

import io
from fractions import Fraction

import mido
import pytest

from benchmarks.abc_reference import abc2midi_midi, find_abc2midi
from benchmarks.midi_pickup import bar_lines, with_marker
from musegen_cli.notation.conversion import to_midi
from musegen_cli.notation.formats import parse_score
from musegen_cli.notation.midi_markers import pickup_marker, read_pickup
from musegen_cli.notation.midi_pickup import detect_pickup

needs_abc2midi = pytest.mark.skipif(find_abc2midi() is None, reason="abc2midi is not installed (apt-get install abcmidi)")

JIG = "X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\nA|dfa agf|e3 e2d|cBA BAG|F3 F2A|dfa agf|e3 e2d|cBA GFE|D3 D2|]\n"
POLKA = "X:2\nT:Polka\nM:2/4\nL:1/8\nK:G\nDE|G2 GA|B2 AG|E2 ED|E2 DE|G2 GA|B2 AB|d2 BA|G2|]\n"
WALTZ = "X:3\nT:Waltz\nM:3/4\nL:1/8\nK:C\nG2|c4 e2|g4 e2|d4 B2|G4 G2|A4 c2|B4 d2|c6-|c4|]\n"
REEL = "X:4\nT:Reel\nM:4/4\nL:1/8\nK:G\nGABc dBGB|c2ec dBGB|AGFG ABcA|BAGF G4|GABc dBGB|c2ec dBGB|AGFA BGAF|G8|]\n"
PICKUP_TUNES = {"jig": (JIG, Fraction(1, 2)), "polka": (POLKA, Fraction(1)), "waltz": (WALTZ, Fraction(1))}


def test_the_marker_says_the_pickup_in_whole_notes_and_reads_back_in_quarters() -> None:
    assert pickup_marker(Fraction(1, 2)).text == "anacrusis=1/8"
    assert pickup_marker(0).text == "anacrusis=0"
    song = mido.MidiFile(file=io.BytesIO(with_marker(to_midi(parse_score(JIG.encode(), "abc")), Fraction(3, 2))))
    assert read_pickup(song) == Fraction(3, 2)


@pytest.mark.parametrize("text", ["anacrusis=x", "anacrusis=1/0", "rehearsal A", "anacrusis = 1/8"])
def test_other_markers_are_not_a_pickup(text: str) -> None:
    song = mido.MidiFile()
    song.tracks.append(mido.MidiTrack([mido.MetaMessage("marker", text=text, time=0)]))
    assert read_pickup(song) is None
    assert read_pickup(mido.MidiFile()) is None


@pytest.mark.parametrize("name", PICKUP_TUNES)
def test_musegens_marker_keeps_every_bar_line(name: str) -> None:
    tune, pickup = PICKUP_TUNES[name]
    source = parse_score(tune.encode(), "abc")
    back = parse_score(with_marker(to_midi(source), pickup), "midi")
    assert bar_lines(back) == bar_lines(source)
    assert back.parts[0].getElementsByClass("Measure").first().duration.quarterLength == pickup


@needs_abc2midi
@pytest.mark.parametrize("name", PICKUP_TUNES)
def test_abc2midis_accents_place_the_downbeat(name: str) -> None:
    tune, _pickup = PICKUP_TUNES[name]
    source = parse_score(tune.encode(), "abc")
    assert bar_lines(parse_score(abc2midi_midi(tune), "midi")) == bar_lines(source)


@needs_abc2midi
def test_a_tune_without_pickup_is_not_given_one() -> None:
    source = parse_score(REEL.encode(), "abc")
    assert bar_lines(parse_score(abc2midi_midi(REEL), "midi")) == bar_lines(source)
    assert bar_lines(parse_score(to_midi(source), "midi")) == bar_lines(source)


def test_a_zero_marker_stops_the_guessing(monkeypatch: pytest.MonkeyPatch) -> None:
    from musegen_cli.notation import midi_pickup

    def guess(*args):
        raise AssertionError("guessed although the marker says there is no pickup")

    monkeypatch.setattr(midi_pickup, "detect_pickup", guess)
    source = parse_score(JIG.encode(), "abc")
    parse_score(with_marker(to_midi(source), Fraction(0)), "midi")


def test_long_notes_on_strong_beats_place_the_downbeat() -> None:
    from music21 import meter

    # an eighth pickup, then bars of a dotted quarter and three eighths: the long notes say
    bar = [Fraction(0), Fraction(3, 2), Fraction(2), Fraction(5, 2)]
    onsets = [Fraction(0)] + [Fraction(1, 2) + 3 * k + x for k in range(8) for x in bar]
    assert detect_pickup([(o, 90.0) for o in onsets], meter.TimeSignature("6/8")) == Fraction(1, 2)
    plain = [3 * k + x for k in range(8) for x in bar]
    assert detect_pickup([(o, 90.0) for o in plain], meter.TimeSignature("6/8")) == 0
