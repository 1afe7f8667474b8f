"""Which mode a piece is in: stated, a bare tonic checked against the analysis, or analyzed."""

import pytest

from musegen_cli.analysis.abc_header import parse_key
from musegen_cli.analysis.declared import DeclaredKey, resolve_mode


@pytest.mark.parametrize(
    ("value", "stated"),
    [("Em", True), ("Dmix", True), ("C dorian", True), ("G major", True), ("G", False), ("D =c", False),
     ("D exp _b ^f", False), ("Bn", False), ("none", False)],
)
def test_a_mode_is_stated_only_when_named(value: str, stated: bool) -> None:
    assert parse_key(value).mode_stated is stated


@pytest.mark.parametrize(
    ("value", "analyzed", "resolved"),
    [
        ("Em", ("G", "major"), ("minor", "declared")),  # stated: the analysis does not matter
        ("Dmix", ("G", "major"), ("mixolydian", "declared")),
        ("G", ("G", "minor"), ("minor", "analyzed")),  # bare tonic, same tonic found: Essen's minor
        ("Bb", ("A#", "minor"), ("minor", "analyzed")),  # the same pitch class, spelt otherwise
        ("G", ("E", "minor"), ("major", "declared")),  # bare tonic, relative minor found: keep major
        ("G", ("G", "major"), ("major", "declared")),
        ("none", ("A", "minor"), ("minor", "analyzed")),
        ("HP", ("A", "major"), ("major", "analyzed")),
        ("Bn", ("B", "minor"), ("minor", "analyzed")),  # unknown mode word
    ],
)
def test_resolve_mode(value: str, analyzed: tuple[str, str], resolved: tuple[str, str]) -> None:
    assert resolve_mode(parse_key(value), *analyzed) == resolved


def test_no_declaration_is_analyzed() -> None:
    assert resolve_mode(None, "D", "major") == ("major", "analyzed")
    assert resolve_mode(DeclaredKey(text="2 sharps"), "B", "minor") == ("minor", "analyzed")
