"""Format detection, tune splitting, and parsing (including every deliberately corrupt file)."""

from pathlib import Path

import pytest

from musegen_cli.errors import UserError
from musegen_cli.notation.formats import detect_format, parse_score, split_abc_tunes

CORRUPT = Path(__file__).parents[1] / "data" / "corrupt"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tune.abc", "abc"),
        ("score.musicxml", "musicxml"),
        ("score.XML", "musicxml"),
        ("score.mxl", "musicxml"),
        ("song.mid", "midi"),
        ("song.midi", "midi"),
        ("chorale.krn", "humdrum"),
    ],
)
def test_format_from_extension(name: str, expected: str) -> None:
    assert detect_format(name, b"") == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"X:1\nT:t\nK:G\nGAB|\n", "abc"),
        (b"\xef\xbb\xbfK:D\nDEF|\n", "abc"),
        (b'<?xml version="1.0"?>\n<score-partwise>', "musicxml"),
        (b"PK\x03\x04rest-of-zip", "musicxml"),
        (b"MThd\x00\x00\x00\x06", "midi"),
        (b"!!!COM: Bach\n**kern\n", "humdrum"),
    ],
)
def test_format_sniffed_from_stdin(data: bytes, expected: str) -> None:
    assert detect_format("-", data) == expected


def test_unknown_extension_and_unrecognisable_stdin_are_user_errors() -> None:
    with pytest.raises(UserError, match="unknown file extension '.xyz'"):
        detect_format("tune.xyz", b"X:1\nK:C\nC|\n")
    with pytest.raises(UserError, match="--from"):
        detect_format("-", b"hello there")


def test_split_keeps_file_header_for_every_tune_and_drops_text_between() -> None:
    text = (
        "%abc-2.1\n%%pagewidth 21cm\nL:1/16\nA free-text line before the tunes\n\n"
        "X:1\nT:One\nK:G\nGABc|\n\nSome notes about tune one.\n\n"
        "X:2\nT:Two\nK:D\nDEFG|\n"
    )
    tunes = split_abc_tunes(text)
    assert len(tunes) == 2
    for tune in tunes:
        assert tune.startswith("%abc-2.1\n%%pagewidth 21cm\nL:1/16\nX:")
        assert "free-text" not in tune and "notes about" not in tune
    assert "T:One" in tunes[0] and "T:Two" in tunes[1]


def test_split_text_without_x_is_one_tune() -> None:
    assert split_abc_tunes("K:C\nCDE|\n") == ["K:C\nCDE|\n"]
    assert split_abc_tunes("  \n") == []


def test_parse_abc_defaults_unit_length_when_missing() -> None:
    score = parse_score(b"X:1\nK:G\nGAB|\n", "abc")
    assert [n.quarterLength for n in score.recurse().notes] == [0.5, 0.5, 0.5]
    assert [n.pitch.nameWithOctave for n in score.recurse().notes] == ["G4", "A4", "B4"]


def test_parse_compressed_musicxml(chorale_bytes: bytes) -> None:
    score = parse_score(chorale_bytes, detect_format("bwv66.6.mxl", chorale_bytes))
    assert [p.partName for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert len(score.recurse().notes) == 165


@pytest.mark.parametrize("path", sorted(CORRUPT.iterdir()), ids=lambda p: p.name)
def test_every_corrupt_file_is_a_one_line_user_error(path: Path) -> None:
    data = path.read_bytes()
    with pytest.raises(UserError) as caught:
        parse_score(data, detect_format(path.name, data))
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 200


def test_parse_utf16_musicxml_inside_mxl(corpus_path) -> None:
    data = corpus_path("monteverdi/madrigal.3.10.mxl").read_bytes()  # the XML inside is UTF-16
    score = parse_score(data, "musicxml")
    assert len(score.parts) == 5 and len(score.recurse().notes) == 916


BEAMS_MUSIC21_WARNS_ABOUT = """X:2
M:3/4
L:1/16
K:G
(B3cBAGF E2G2|AGFE G2`E2 E2D2|f3g (3efg d3 (c3cBA| dBAG GBdg g2AG |edef g2g2 dBge |(B<d).g(fe) gfge|
gefg bgfg fdBd|bagf e2df gegf | eafe fedc (BAB) |BAGB dcBc c2dc| g3 ddg B3 (de) | g2 g2 g2bg (bde2) |
d edB gfeg (3gab| (ec).c.e.e ((fdd) e>f| efdB {c}B2AB zE E2 |B/B/A/ B2ge d2 (2)de|]
"""


def test_music21s_beaming_warnings_do_not_reach_the_user(capsys) -> None:
    parse_score(BEAMS_MUSIC21_WARNS_ABOUT.encode(), "abc")
    assert capsys.readouterr().err == ""


def test_music21s_reading_notes_do_not_reach_the_user(capsys) -> None:
    """music21 says it read an unknown letter as C; the analyzer reads the tune quietly too."""
    from musegen_cli.analysis.features import analyze_abc

    tune = "X:1\nM:4/4\nL:1/8\nK:C\nc2 p2 d4|\n"
    parse_score(tune.encode(), "abc")
    analyze_abc(tune)
    assert capsys.readouterr().err == ""
