import random

import pytest

from musegen_cli.notation.abc_patches import (
    BOS,
    END,
    EOP,
    PAD,
    TEXT_IDS,
    VOCAB_SIZE,
    decode,
    encode,
    encode_prompt,
    ends_bar,
    patch_text,
    split_units,
    to_ascii,
)

SIZE = 16
PIECES = [
    "abc", "A2", "B,", "c'", "z", "^f", "_B", "=c", "[CEG]", '"Am"', "!trill!", "(3", "~",
    "|", "||", "|]", "|:", ":|", "::", "[|", "|1", ":|2", " ", "  ", "\n", "\t", "%comment",
    "[K:G]", "[V:1]", "X:1\n", "T:Title|with bar\n", "K:D\n", "w:la la | la\n", "\n\n", "%%score (1 2)\n",
    "abcdefgabcdefgabcdefg", '"text with | bar"', "{/g}", ">", "/2", "3/2",
]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 60)))


def _check_patches(patches: list[list[int]]) -> None:
    for ids in patches:
        assert len(ids) == SIZE
        assert all(0 <= i < VOCAB_SIZE for i in ids)
        chars = patch_text(ids)
        if ids[0] in (BOS, END):
            assert ids[1] == EOP and set(ids[2:]) <= {PAD}
        elif len(chars) < SIZE:  # short patches close with EOP, then padding
            assert chars and ids[len(chars)] == EOP and set(ids[len(chars) + 1 :]) <= {PAD}
        assert all(ord(c) in TEXT_IDS for c in chars)


def test_round_trip_on_tunes(tunes):
    for tune in tunes:
        patches = encode(tune, SIZE)
        _check_patches(patches)
        assert patches[0][0] == BOS and patches[-1][0] == END
        assert decode(patches) == tune
        assert "".join(split_units(tune)) == tune


def test_round_trip_property_style():
    rng = random.Random(1234)
    for _ in range(400):
        text = _random_text(rng)
        assert "".join(split_units(text)) == text
        patches = encode(text, SIZE)
        _check_patches(patches)
        assert decode(patches) == text
        assert decode(encode(text, SIZE, add_end=False)) == text


def test_bars_start_new_patches():
    patches = encode("K:G\n|:GAB cde|fga b2a|\n", SIZE, add_end=False)
    assert [patch_text(p) for p in patches] == ["", "K:G\n", "|:GAB cde|", "fga b2a|\n"]


def test_multi_voice_lines_split_at_bars(tunes):
    units = split_units(tunes[1])
    assert "[V:1]A B c|" in units and "F3|]\n" in units
    assert "w:Lyr-ics with a | bar in them\n" in units  # field lines are never cut at bars
    assert "T:Multi-voice chorale\n" in units


def test_long_bar_continues_in_next_patches():
    bar = "abcdefg" * 6 + "|"  # 43 characters
    patches = encode(bar + "\n", SIZE, add_end=False)[1:]
    assert [len(patch_text(p)) for p in patches] == [16, 16, 12]
    assert EOP not in patches[0] and EOP not in patches[1]
    assert "".join(patch_text(p) for p in patches) == bar + "\n"


def test_unit_of_exactly_one_patch_has_no_end_marker():
    patches = encode("abcdefghijklmno|" + "z|", SIZE, add_end=False)[1:]
    assert patch_text(patches[0]) == "abcdefghijklmno|" and EOP not in patches[0]
    assert patch_text(patches[1]) == "z|"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T:Caf\u00e9\n", "T:Caf\\u00e9\n"),
        ("T:\U0001f3b5\n", "T:\\ud83c\\udfb5\n"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("a\x00b\x01c\x7fd\x1be", "abcde"),
        ("plain ASCII |: ok :|\t\n", "plain ASCII |: ok :|\t\n"),
    ],
)
def test_to_ascii(text, expected):
    assert to_ascii(text) == expected
    assert decode(encode(text, SIZE)) == expected


def test_ends_bar():
    assert all(ends_bar(t) for t in ["abc|", "G4:|\n", "B2|]", "d2 ||  \n", "|:"])
    assert not any(ends_bar(t) for t in ["abc", "[V:1]ab", "K:G\n", "abcdefghijklmnop", ""])


def test_prompt_keeps_unfinished_patch_open():
    patches, open_chars = encode_prompt("X:1\nK:G\nGAB c", SIZE)
    assert [patch_text(p) for p in patches] == ["", "X:1\n", "K:G\n"]
    assert "".join(map(chr, open_chars)) == "GAB c"

    patches, open_chars = encode_prompt("X:1\nK:G\n", SIZE)
    assert len(patches) == 3 and open_chars == []

    patches, open_chars = encode_prompt("", SIZE)
    assert patches == [encode("", SIZE)[0]] and open_chars == []

    full = "abcdefghijklmnop"  # exactly one patch: complete, nothing left open
    patches, open_chars = encode_prompt(full, SIZE)
    assert patch_text(patches[-1]) == full and open_chars == []
