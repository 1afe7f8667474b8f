"""Multi-voice primes in NotaGen's layout: a standard ABC tune of V: voices becomes the
interleaved, rest-reduced, stream-prefixed text its data preparation writes, and the
generated text comes back as standard ABC that plays the prime as written.

The layout expectations are written by hand from NotaGen's rules (``notagen_data``'s
docstring); the round trip is compared with abc2midi.
"""

from __future__ import annotations

import pytest
from musegen_plugins.abc_transformer.notagen_data import interleave
from musegen_plugins.abc_transformer.notagen_format import NotaGenFormat

from benchmarks.abc_reference import abc2midi_midi, find_abc2midi, midi_notes
from musegen_cli.errors import UserError

PIANO = """X:1
T:Two staves
C:Someone
%%score { 1 | 2 }
L:1/8
M:3/4
K:Eb
V:1 treble nm="Piano"
V:2 bass
V:1
"^Andante" B2 G2 E2|c4 (3BcB|z6|B6|]
V:2
E,,2 B,,2 G,,2|z6|A,,6|E,,6|]
"""
INTERLEAVED = """%%score { 1 | 2 }
L:1/8
M:3/4
K:Eb
V:1 treble nm="Piano"
V:2 bass
[V:1]"^Andante" B2 G2 E2|[V:2]E,,2 B,,2 G,,2|
[V:1]c4 (3BcB|
[V:2]A,,6|
[V:1]B6|][V:2]E,,6|]
"""


def test_voice_blocks_become_interleaved_rest_reduced_lines():
    metadata, body = interleave(PIANO)
    assert "".join(metadata + body) == INTERLEAVED  # T: and C: dropped, one bar of each sounding voice a line


def test_the_prime_is_stream_prefixed_for_the_piece_it_starts():
    fmt = NotaGenFormat()
    text = fmt.prompt(
        {"period": "Romantic", "composer": "Chopin, Frederic", "instrumentation": "Keyboard"}, PIANO, bars=3
    )  # 3 lines (bars of both voices) after the prime's 4
    lines = text.splitlines()
    assert lines[:3] == ["%Romantic", "%Chopin, Frederic", "%Keyboard"]
    assert [line[: line.index("]") + 1] for line in lines if line.startswith("[r:")] == [
        "[r:0/6]",
        "[r:1/5]",
        "[r:2/4]",
        "[r:3/3]",
    ]
    assert lines[-1] == "[r:3/3][V:1]B6|][V:2]E,,6|]"
    without_bars = fmt.prompt({}, PIANO)
    assert "[r:0/19]" in without_bars  # as many lines again as the prime, at least 16


def test_lines_opened_by_inline_voices_second_endings_and_named_voices():
    tune = "%%score (S A)\nL:1/4\nM:2/4\nK:G\n[V:S] |:ab|1cd:|2ef|]\n[V:A] |:AB|1CD:|2EF|]\n"
    metadata, body = interleave(tune)
    assert metadata == ["%%score (1 2)\n", "L:1/4\n", "M:2/4\n", "K:G\n", "V:1\n", "V:2\n"]
    # the ending's number joins the bar line before it; the first bar keeps its left bar line
    assert body == ["[V:1]|:ab|1[V:2]|:AB|1\n", "[V:1]cd:|2[V:2]CD:|2\n", "[V:1]ef|][V:2]EF|]\n"]


def test_one_voice_and_header_only_primes():
    metadata, body = interleave("X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n|:dfaf gfed|cdeA cdef:|\nzzzz zzzz|\n")
    assert metadata == ["M:4/4\n", "L:1/8\n", "K:D\n", "V:1\n"]
    assert body == ["[V:1]|:dfaf gfed|\n", "[V:1]cdeA cdef:|\n"]  # the all-rest bar is reduced away
    header = "%%score { 1 | 2 }\nL:1/8\nM:3/4\nK:Eb\nV:1 treble\nV:2 bass\n"
    assert NotaGenFormat().prompt({}, header) == header  # its inference starts the body at [r:0/


@pytest.mark.parametrize(
    ("tune", "message"),
    [
        ("K:C\nV:1\nab|cd|\nV:2\nAB|\n", r"different numbers of bars \(V:1 2, V:2 1\)"),
        ("K:C\nV:1\nab cd\n", "no bar closed by a bar line"),
    ],
)
def test_primes_NotaGen_cannot_read_are_one_line_errors(tune, message):
    with pytest.raises(UserError, match=message) as caught:
        NotaGenFormat().prompt({}, tune)
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(find_abc2midi() is None, reason="abc2midi is not installed (apt-get install abcmidi)")
def test_the_standard_abc_of_a_primed_piece_plays_the_prime():
    fmt = NotaGenFormat()
    text = fmt.prompt({}, PIANO, bars=4)
    standard = fmt.to_standard(text)
    assert standard.startswith("X:1\n") and "[r:" not in standard
    assert midi_notes(abc2midi_midi(standard)) == midi_notes(abc2midi_midi(PIANO))
