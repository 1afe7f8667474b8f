"""Mode vocabulary and tonic triads."""

import pytest

from musegen_cli.notation.abc.modes import canonical_mode, pitch_class, tonic_triad


@pytest.mark.parametrize(
    ("word", "mode"),
    [("m", "minor"), ("Mix", "mixolydian"), ("aeolian", "minor"), ("Ionian", "major"), ("xyz", None)],
)
def test_canonical_mode(word: str, mode: str | None) -> None:
    assert canonical_mode(word) == mode


def test_pitch_class_reads_abc_and_music21_flats() -> None:
    assert [pitch_class(t) for t in ("C", "F#", "Bb", "B-", "Cb")] == [0, 6, 10, 10, 11]


@pytest.mark.parametrize(
    ("tonic", "mode", "triad"),
    [
        ("D", "mixolydian", {2, 6, 9}),  # D F# A
        ("A", "dorian", {9, 0, 4}),  # A C E
        ("E", "phrygian", {4, 7, 11}),  # E G B
        ("B", "locrian", {11, 2, 5}),  # B D F
        ("F", "lydian", {5, 9, 0}),  # F A C
    ],
)
def test_tonic_triad_follows_the_mode(tonic: str, mode: str, triad: set[int]) -> None:
    assert tonic_triad(tonic, mode) == triad
