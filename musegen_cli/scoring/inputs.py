"""The pieces `musegen score` reads: files, folders, standard input and corpus collections.

Each piece is an `InputPiece`: a name (`FILE`, `FILE#X` for one tune of a multi-tune ABC
file, `corpus:NAME/SOURCE`), and two lazy readings, run later under a progress bar: its
analyzer features, and its ABC text for the music encoder (MusicXML, MIDI and Humdrum are
converted to interleaved ABC, as the training data is). A piece that cannot be read is not
an error: its features say `parses: false` and why, and its ABC is None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from musegen_cli.errors import UserError

if TYPE_CHECKING:
    from musegen_cli.analysis.features import PieceFeatures

STDIN = "-"
CORPUS_PREFIX = "corpus:"


@dataclass(frozen=True)
class InputPiece:
    name: str
    analyze: Callable[[], PieceFeatures]
    abc: Callable[[], str | None]


def collect_sources(paths: list[str]) -> list[str]:
    """The inputs to read: each path, folders expanded (sorted) to the files of known
    formats; `-` and `corpus:NAME` pass through."""
    from musegen_cli.notation.formats import EXTENSIONS

    sources: list[str] = []
    for raw in paths:
        if raw == STDIN or raw.startswith(CORPUS_PREFIX):
            sources.append(raw)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
            sources.extend(str(p) for p in found)
        elif path.exists():
            sources.append(raw)
        else:
            raise UserError(f"no such file or folder: {raw}")
    return sources


def read_pieces(sources: list[str], from_format: str | None = None) -> list[InputPiece]:
    """Every piece of the sources (see the module doc); nothing is parsed yet."""
    pieces: list[InputPiece] = []
    for source in sources:
        if source.startswith(CORPUS_PREFIX):
            pieces += corpus_pieces(source)
        else:
            pieces += _file_pieces(source, from_format)
    return pieces


def _file_pieces(source: str, from_format: str | None) -> list[InputPiece]:
    from musegen_cli.analysis.abc_header import parse_abc_header
    from musegen_cli.files import read_bytes
    from musegen_cli.notation.formats import decode_text, detect_format, split_abc_tunes

    name = "<stdin>" if source == STDIN else source
    data = None
    try:
        fmt = from_format or detect_format(source, b"")  # by extension, without reading
    except UserError:
        data = read_bytes(source)
        try:
            fmt = detect_format(source, data)  # by content
        except UserError as exc:
            return [_unreadable(name, str(exc))]
    if fmt != "abc":
        kept = data if data is not None or source != STDIN else read_bytes(source)
        return [InputPiece(name, partial(_analyze_file, source, fmt, kept), partial(_file_abc, source, fmt, kept))]
    try:
        text = decode_text(data if data is not None else read_bytes(source), "abc")
    except UserError as exc:  # binary data: a row that says so, like any unparseable piece
        return [_unreadable(name, str(exc))]
    tunes = split_abc_tunes(text) or [""]
    pieces = []
    for index, tune in enumerate(tunes, start=1):
        number = parse_abc_header(tune).number if len(tunes) > 1 else None
        label = name if len(tunes) == 1 else f"{name}#{number if number is not None else index}"
        pieces.append(_abc_piece(label, tune))
    return pieces


def _abc_piece(name: str, tune: str) -> InputPiece:
    from musegen_cli.analysis.features import analyze_abc

    return InputPiece(name, partial(analyze_abc, tune), lambda: tune)


def _unreadable(name: str, reason: str) -> InputPiece:
    from musegen_cli.analysis.features import PieceFeatures

    return InputPiece(name, partial(PieceFeatures, parses=False, error=reason), lambda: None)


def _analyze_file(source: str, fmt: str, data: bytes | None) -> PieceFeatures:
    """Features of a MusicXML, MIDI or Humdrum file, read now unless already read (stdin);
    a parse failure is a row, not an error."""
    from musegen_cli.analysis.features import PieceFeatures, analyze_score
    from musegen_cli.files import read_bytes
    from musegen_cli.notation.formats import parse_score

    try:
        score = parse_score(data if data is not None else read_bytes(source), fmt)
    except UserError as exc:
        return PieceFeatures(parses=False, error=str(exc))
    return analyze_score(score)


def _file_abc(source: str, fmt: str, data: bytes | None) -> str | None:
    """A MusicXML, MIDI or Humdrum file as interleaved ABC (the training form); None if unreadable."""
    from musegen_cli.data.scores import score_text
    from musegen_cli.files import read_bytes
    from musegen_cli.notation.formats import parse_score

    try:
        return score_text(parse_score(data if data is not None else read_bytes(source), fmt)).abc
    except Exception:  # music21 raises many types on files it cannot read; the features say why
        return None


def corpus_pieces(spec: str) -> list[InputPiece]:
    """The pieces of `corpus:NAME` (a folk collection or composer folder of music21's corpus),
    cleaned and deduplicated as `musegen data build` does."""
    from musegen_cli.data.build import gather

    tunes, scores = gather([spec], None)
    pieces = [_abc_piece(f"{spec}/{record.source}", record.abc) for record in tunes]
    for raw in scores:
        fmt = _score_format(raw.path)
        pieces.append(InputPiece(f"{spec}/{raw.path.name}", partial(_analyze_file, str(raw.path), fmt, None),
                                 partial(_file_abc, str(raw.path), fmt, None)))
    if not pieces:
        raise UserError(f"{spec} holds no pieces")
    return pieces


def _score_format(path: Path) -> str:
    from musegen_cli.notation.formats import detect_format

    return detect_format(str(path), b"")
