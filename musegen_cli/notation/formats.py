"""Recognising score formats and parsing bytes into music21 scores.

Every reader in musegen goes through `parse_score`, so bad input (empty, garbage, truncated,
no notes) fails the same way everywhere: a `UserError` with a one-line reason. music21 is
imported inside the functions so that `musegen --help` stays fast.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import PurePath
from typing import TYPE_CHECKING

from musegen_cli.errors import UserError
from musegen_cli.notation.abc_reader import parse_abc

if TYPE_CHECKING:
    from music21.stream import Score

#: Formats musegen can read.
INPUT_FORMATS = ("abc", "musicxml", "midi", "humdrum")

EXTENSIONS = {
    ".abc": "abc",
    ".musicxml": "musicxml",
    ".xml": "musicxml",
    ".mxl": "musicxml",
    ".mid": "midi",
    ".midi": "midi",
    ".krn": "humdrum",
}

_ABC_FIELD = re.compile(rb"^(X:\s*\d|K:|M:|L:|T:)", re.MULTILINE)
_TUNE_START = re.compile(r"^X:", re.MULTILINE)


def detect_format(name: str, data: bytes) -> str:
    """Return "abc", "musicxml", "midi" or "humdrum": from the file extension, or from the
    content for standard input ("-") and names without an extension. An unknown extension
    is an error (the user can say --from), rather than a guess."""
    suffix = PurePath(name).suffix.lower() if name and name != "-" else ""
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    known = ", ".join(sorted(EXTENSIONS))
    if suffix:
        raise UserError(f"unknown file extension {suffix!r} ({name}): use one of {known}, or --from FORMAT")
    sniffed = sniff_format(data)
    if sniffed is None:
        where = "standard input" if name in ("", "-") else name
        raise UserError(f"cannot tell the format of {where}: use --from {{{','.join(INPUT_FORMATS)}}}")
    return sniffed


def sniff_format(data: bytes) -> str | None:
    """Guess a format from the first bytes; None when nothing matches."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"MThd"):
        return "midi"
    if head.startswith(b"PK\x03\x04"):
        return "musicxml"
    if b"<score-partwise" in head or b"<score-timewise" in head or head.startswith(b"<?xml"):
        return "musicxml"
    if head.startswith((b"**kern", b"!!!", b"!!")) or b"\n**kern" in head:
        return "humdrum"
    if _ABC_FIELD.search(head):
        return "abc"
    return None


def split_abc_tunes(text: str) -> list[str]:
    """Split a multi-tune ABC file into one text per tune.

    Header lines before the first `X:` (a file header, e.g. `%%` directives or a default
    `L:`/`M:`) apply to every tune, so they are kept in front of each tune. Free text between
    tunes is dropped. A text without any `X:` line is returned whole as one tune.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in _TUNE_START.finditer(text)]
    if not starts:
        return [text] if text.strip() else []
    header = _file_header(text[: starts[0]])
    tunes = []
    for begin, end in zip(starts, [*starts[1:], len(text)]):
        tune = _strip_trailing_text(text[begin:end])
        tunes.append(header + tune)
    return tunes


def _file_header(preamble: str) -> str:
    """Keep only field and directive lines of the text before the first tune."""
    kept = [
        line
        for line in preamble.split("\n")
        if re.match(r"^(%%|%abc-|[A-Za-z]:)", line) and not line.startswith("X:")
    ]
    return "\n".join(kept) + "\n" if kept else ""


def _strip_trailing_text(tune: str) -> str:
    """A tune ends at the first blank line (ABC standard); drop what follows it."""
    body = re.split(r"\n[ \t]*\n", tune.strip("\n"), maxsplit=1)[0]
    return body + "\n"


def parse_score(data: bytes, fmt: str) -> Score:
    """Parse one piece into a music21 Score, or raise UserError with a one-line reason.

    For ABC text with several tunes only the first is parsed; callers that want every tune
    split the text with `split_abc_tunes` first.
    """
    if fmt not in INPUT_FORMATS:
        raise UserError(f"cannot read format {fmt!r}; readable formats: {', '.join(INPUT_FORMATS)}")
    if not data.strip():
        raise UserError("the input is empty")
    try:
        score = _parse(data, fmt)
    except UserError:
        raise
    except Exception as exc:  # music21 raises many unrelated types on bad input
        raise UserError(f"not valid {_LABELS[fmt]}: {one_line(exc)}") from exc
    _check_has_notes(score, fmt)
    return score


_LABELS = {"abc": "ABC", "musicxml": "MusicXML", "midi": "MIDI", "humdrum": "Humdrum"}


def _parse(data: bytes, fmt: str) -> Score:
    from music21 import converter, stream

    if fmt == "midi":
        from musegen_cli.notation.midi_pickup import bar_from_pickup

        _check_midi_chunks(data)
        parsed = bar_from_pickup(converter.parseData(data, format="midi"), data)
    elif fmt == "musicxml":
        parsed = converter.parseData(_musicxml_text(data), format="musicxml")
    elif fmt == "abc":
        tunes = split_abc_tunes(decode_text(data, fmt))
        if not tunes:
            raise UserError("the input is empty")
        parsed = parse_abc(tunes[0])
    else:
        parsed = converter.parseData(decode_text(data, fmt), format=fmt)
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise UserError(f"no music found in the {_LABELS[fmt]} input")
        parsed = scores[0]
    if not isinstance(parsed, stream.Score):
        score = stream.Score()
        score.insert(0, parsed)
        parsed = score
    return parsed


def _check_midi_chunks(data: bytes) -> None:
    """music21 reads what it can of a cut-off MIDI file; we refuse it instead."""
    if not data.startswith(b"MThd"):
        raise UserError("not valid MIDI: the file does not start with a MIDI header")
    position = 0
    while position < len(data):
        if len(data) - position < 8:
            raise UserError("not valid MIDI: the file is truncated")
        length = int.from_bytes(data[position + 4 : position + 8], "big")
        position += 8 + length
        if position > len(data):
            raise UserError("not valid MIDI: the file is truncated")


def decode_text(data: bytes, fmt: str) -> str:
    """Text input as str: UTF-8, else Latin-1 (older ABC collections); binary data is an error."""
    if b"\x00" in data[:4096]:
        raise UserError(f"not valid {_LABELS[fmt]}: the input is binary data, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _musicxml_text(data: bytes) -> str:
    """MusicXML as text: unpack compressed .mxl (a zip with a container manifest) if needed."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                data = archive.read(_mxl_root(archive))
        except (zipfile.BadZipFile, KeyError, EOFError) as exc:
            raise UserError(f"not valid compressed MusicXML (.mxl): {one_line(exc)}") from exc
    text = _decode_xml(data)
    if "<score-partwise" not in text and "<score-timewise" not in text:
        raise UserError("not valid MusicXML: no <score-partwise> or <score-timewise> element")
    return text


def _decode_xml(data: bytes) -> str:
    """XML bytes as text: UTF-16 (with a byte-order mark, as some .mxl files hold) or UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UserError(f"not valid MusicXML: {one_line(exc)}") from exc
    return decode_text(data, "musicxml")


def _mxl_root(archive: zipfile.ZipFile) -> str:
    names = archive.namelist()
    if "META-INF/container.xml" in names:
        match = re.search(rb'full-path="([^"]+)"', archive.read("META-INF/container.xml"))
        if match:
            return match.group(1).decode("utf-8")
    for name in names:
        if not name.startswith("META-INF/") and name.endswith((".xml", ".musicxml")):
            return name
    raise KeyError("no score inside the archive")


def _check_has_notes(score: Score, fmt: str) -> None:
    if not score.recurse().notes.first():
        raise UserError(f"no notes found in the {_LABELS[fmt]} input")


def one_line(exc: BaseException) -> str:
    """An exception's message on one short line, for error messages."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message if len(message) <= 160 else message[:157] + "..."
