"""The emotion rule: valence from mode, arousal from density with register as tie-breaker."""

import pytest

from musegen_cli.analysis import emotion
from musegen_cli.analysis.emotion import (
    AROUSAL_THRESHOLD_NPS as T,
    REGISTER_BAND_NPS as BAND,
    REGISTER_MIDPOINT as MID,
    classify,
)
from musegen_cli.notation.abc.modes import MAJOR_LIKE, MINOR_LIKE, MODES


def test_every_mode_has_a_valence() -> None:
    assert MAJOR_LIKE | MINOR_LIKE == set(MODES)
    assert not MAJOR_LIKE & MINOR_LIKE
    assert emotion.valence("lydian") == "positive" and emotion.valence("phrygian") == "negative"


@pytest.mark.parametrize(
    ("mode", "valence"),
    [("major", "positive"), ("lydian", "positive"), ("mixolydian", "positive"),
     ("minor", "negative"), ("dorian", "negative"), ("phrygian", "negative"), ("locrian", "negative"),
     (None, None), ("chromatic", None)],
)
def test_valence_from_mode(mode: str | None, valence: str | None) -> None:
    assert emotion.valence(mode) == valence


def test_density_decides_outside_the_band_whatever_the_register() -> None:
    assert emotion.arousal(T + BAND + 0.01, MID - 20) == "high"
    assert emotion.arousal(T - BAND - 0.01, MID + 20) == "low"


def test_register_decides_inside_the_band() -> None:
    for density in (T - BAND, T, T + BAND):
        assert emotion.arousal(density, MID) == "high"
        assert emotion.arousal(density, MID - 0.01) == "low"


def test_missing_measurements_give_no_answer() -> None:
    assert emotion.arousal(None, 70.0) is None
    assert emotion.arousal(T, None) is None
    assert classify("major", None, 70.0).quadrant is None
    assert classify(None, T + 1, 70.0).quadrant is None


@pytest.mark.parametrize(
    ("mode", "density", "quadrant"),
    [("major", T + 1, "Q1"), ("dorian", T + 1, "Q2"), ("minor", T - 1, "Q3"), ("mixolydian", T - 1, "Q4")],
)
def test_russell_quadrants(mode: str, density: float, quadrant: str) -> None:
    assert classify(mode, density, MID).quadrant == quadrant


def test_band_is_narrow_around_a_positive_threshold() -> None:
    assert 0 < BAND < T / 5
