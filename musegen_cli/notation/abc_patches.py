"""ABC text <-> fixed-width character patches, the units hierarchical models (the abc-transformer,
the scoring encoder) read and write.

A piece is cut into *units* that follow the music: every header or field line (``X:``,
``K:``, ``%emotion Q1``, ``w:`` ...) is one unit, and every music line is cut after each
bar line, so a unit is one bar with its closing bar line (a line's final newline joins its
last bar). Each unit is then written into patches of ``patch_size`` characters; a unit that
does not fit continues in the next patch, so nothing is ever truncated. A patch holding
fewer than ``patch_size`` characters is closed by ``EOP`` and filled with ``PAD``.

A token id is the character's ASCII code; codes 0-3 never occur in ABC text and serve as
the special tokens. A piece is framed by a begin patch and an end patch, and decoding is
plain concatenation, so ``decode(encode(text)) == text`` for any text in the model's
alphabet (printable ASCII, newline, tab). ``to_ascii`` brings any other text into that
alphabet first: line ends become ``\\n``, other non-ASCII characters become ABC's
``\\uXXXX`` escapes (ABC 2.1 text strings), and the remaining control characters are dropped.
"""

from __future__ import annotations

import re

PAD, BOS, EOP, END = 0, 1, 2, 3
VOCAB_SIZE = 128
TEXT_IDS: tuple[int, ...] = (9, 10, *range(32, 127))
"""Ids of the characters a patch may hold: tab, newline and printable ASCII."""

_OUTSIDE_ALPHABET = re.compile(r"[^\t\n\x20-\x7e]")
FIELD = re.compile(r"([A-Za-z+]):(?!\|)(.*)")
"""An ABC field line (``name``, ``value``): a letter, or ``+`` for a continuation, and a colon
not followed by a bar line (``d:|`` is a bar). Units, header plans and bar checks share it."""
_FIELD_LINE = re.compile(rf"{FIELD.pattern}|%|\s*$")
# Quoted strings, !decorations! and comments may contain '|', so they are matched (and
# skipped) as whole tokens; only the "bar" group ends a unit.
_TOKENS = re.compile(r'"[^"\n]*"|![^!\n]*!|%.*|(?P<bar>\[\||:*\|[\]|:]*|::)')
_BARLINE_ONLY = re.compile(r"\s*(\[\||:*\|[\]|:]*|::)")
_BARLINE_AT_END = re.compile(r"(\[\||:*\|[\]|:]*|::)\s*$")


def to_ascii(text: str) -> str:
    """Map any text into the patch alphabet (identity for printable ASCII, newline and tab)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _OUTSIDE_ALPHABET.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if ord(char) < 128:
        return ""
    utf16 = char.encode("utf-16-be")
    return "".join(f"\\u{utf16[i]:02x}{utf16[i + 1]:02x}" for i in range(0, len(utf16), 2))


def split_units(text: str) -> list[str]:
    """Cut text into lines and bars; ``"".join(split_units(text)) == text``."""
    units: list[str] = []
    for line in re.findall(r"[^\n]*\n|[^\n]+", text):
        units += [line] if _FIELD_LINE.match(line) else _split_bars(line)
    return units


def _split_bars(line: str) -> list[str]:
    cuts = [m.end() for m in _TOKENS.finditer(line) if m.lastgroup == "bar"]
    bars = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)]) if a < b]
    if len(bars) > 1 and bars[-1].isspace():
        bars[-2:] = [bars[-2] + bars[-1]]
    if len(bars) > 1 and _BARLINE_ONLY.fullmatch(bars[0]):
        bars[0:2] = [bars[0] + bars[1]]
    return bars


def ends_bar(text: str) -> bool:
    """Whether text (such as one generated patch) closes a bar: it ends with a bar line."""
    return _BARLINE_AT_END.search(text) is not None


def _unit_patches(unit: str, patch_size: int) -> list[list[int]]:
    patches = []
    for start in range(0, len(unit), patch_size):
        ids = [ord(c) for c in unit[start : start + patch_size]]
        if len(ids) < patch_size:
            ids += [EOP] + [PAD] * (patch_size - len(ids) - 1)
        patches.append(ids)
    return patches


def special_patch(token: int, patch_size: int) -> list[int]:
    """The begin (``BOS``) or end (``END``) patch: the token, ``EOP``, then padding."""
    return [token, EOP] + [PAD] * (patch_size - 2)


def encode(text: str, patch_size: int, *, add_end: bool = True) -> list[list[int]]:
    """Patches of a whole piece: begin patch, the text's patches, and (optionally) the end patch."""
    patches = [special_patch(BOS, patch_size)]
    for unit in split_units(to_ascii(text)):
        patches += _unit_patches(unit, patch_size)
    if add_end:
        patches.append(special_patch(END, patch_size))
    return patches


def encode_prompt(text: str, patch_size: int) -> tuple[list[list[int]], list[int]]:
    """Complete patches of a prompt, and the characters of an unfinished last patch.

    A prompt that does not end with a newline may stop inside a bar or a field line; its
    last partial patch is returned separately so that generation continues it instead of
    closing it with ``EOP`` (which would start a new bar the prompt never asked for).
    """
    patches = encode(text, patch_size, add_end=False)
    last = patches[-1]
    if len(patches) > 1 and not text.endswith("\n") and EOP in last:
        return patches[:-1], last[: last.index(EOP)]
    return patches, []


def patch_text(ids: list[int]) -> str:
    """Characters of one patch, up to its ``EOP`` (special patches read as empty)."""
    chars = []
    for i in ids:
        if i in (EOP, PAD, END):
            break
        if i != BOS:
            chars.append(chr(i))
    return "".join(chars)


def decode(patches: list[list[int]]) -> str:
    """Text of a patch sequence, stopping at the end patch."""
    text = []
    for ids in patches:
        if ids[0] == END:
            break
        text.append(patch_text(ids))
    return "".join(text)
