"""`musegen score`: measure pieces (files, folders, stdin) and print one row per piece.

The only score kind so far is `--features` (the musical features of `musegen_cli.analysis`),
so it is what runs when no kind is asked for; learned scores will be further flags beside it.
A multi-tune ABC file gives one row per tune, named `FILE#X` after the tune's X: number.
A piece that does not parse is a row with `parses: false` and the reason, not a failure;
a path that does not exist is an error (exit code 2).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from musegen_cli.cli.options import JsonFlag

if TYPE_CHECKING:
    from musegen_cli.analysis.features import PieceFeatures

STDIN = "-"

EPILOG = """Examples:

  musegen score tune.abc

  musegen score tunes/ --json > features.json

  cat tune.abc | musegen score - --from abc

  musegen score out/*.abc --json | jq '.[] | {piece, quadrant}'

Folders are searched recursively for .abc .xml .musicxml .mxl .mid .midi .krn files. Tempo is in quarter notes per minute (from Q: with its beat unit; 120 when none is declared, see tempo_source); duration and notes per second count repeats as played. The emotion quadrant follows the rule in musegen_cli/analysis/emotion.py: valence from the mode, arousal from notes per second, register as tie-breaker."""


def register(app: typer.Typer) -> None:
    @app.command("score", epilog=EPILOG)
    def score(
        paths: Annotated[
            list[str], typer.Argument(help="Files, folders (searched recursively) or - for standard input.")
        ],
        features: Annotated[
            bool,
            typer.Option("--features", help="Musical features (the default, and so far the only score kind)."),
        ] = False,
        from_format: Annotated[
            Optional[str],
            typer.Option("--from", help="Input format (abc, musicxml, midi, humdrum) instead of guessing it."),
        ] = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Score pieces of music: parsing, bars, key and mode, tempo, density, register, emotion."""
        from musegen_cli.cli.output import emit_json, progress
        from musegen_cli.notation.formats import INPUT_FORMATS

        del features  # features are computed whether or not the flag is given (the only kind)
        if from_format is not None and from_format not in INPUT_FORMATS:
            from musegen_cli.errors import UserError

            raise UserError(f"unknown --from format {from_format!r}; choose one of {', '.join(INPUT_FORMATS)}")
        pieces = plan_pieces(collect_sources(paths), from_format)
        rows = [
            {"piece": name, **analyze().to_dict()}
            for name, analyze in progress(pieces, total=len(pieces), description="scoring")
        ]
        if json_output:
            emit_json(rows)
        else:
            render_table(rows)


def collect_sources(paths: list[str]) -> list[str]:
    """The files to read: each path, folders expanded (sorted) to the files of known formats."""
    from musegen_cli.errors import UserError
    from musegen_cli.notation.formats import EXTENSIONS

    sources: list[str] = []
    for raw in paths:
        if raw == STDIN:
            sources.append(STDIN)
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


def plan_pieces(sources: list[str], from_format: str | None) -> list[tuple[str, Callable[[], PieceFeatures]]]:
    """(row name, analysis to run) for every piece: each tune of an ABC file is a piece,
    named `FILE#X` when the file holds several. Analyses run later, under a progress bar."""
    from musegen_cli.analysis.abc_header import parse_abc_header
    from musegen_cli.analysis.features import PieceFeatures, analyze_abc
    from musegen_cli.errors import UserError
    from musegen_cli.files import read_bytes
    from musegen_cli.notation.formats import decode_text, detect_format, split_abc_tunes

    pieces: list[tuple[str, Callable[[], PieceFeatures]]] = []
    for source in sources:
        name = "<stdin>" if source == STDIN else source
        data = None
        try:
            fmt = from_format or detect_format(source, b"")  # by extension, without reading
        except UserError:
            data = read_bytes(source)
            try:
                fmt = detect_format(source, data)  # by content
            except UserError as exc:
                failed = PieceFeatures(parses=False, error=str(exc))
                pieces.append((name, lambda failed=failed: failed))
                continue
        if fmt != "abc":
            kept = data if data is not None or source != STDIN else read_bytes(source)
            pieces.append((name, partial(_analyze_file, source, fmt, kept)))
            continue
        try:
            text = decode_text(data if data is not None else read_bytes(source), "abc")
        except UserError as exc:  # binary data: a row that says so, like any unparseable piece
            pieces.append((name, partial(PieceFeatures, parses=False, error=str(exc))))
            continue
        tunes = split_abc_tunes(text) or [""]
        for index, tune in enumerate(tunes, start=1):
            number = parse_abc_header(tune).number if len(tunes) > 1 else None
            label = name if len(tunes) == 1 else f"{name}#{number if number is not None else index}"
            pieces.append((label, partial(analyze_abc, tune)))
    return pieces


def _analyze_file(source: str, fmt: str, data: bytes | None) -> PieceFeatures:
    """Features of a MusicXML, MIDI or Humdrum file, read now unless already read (stdin);
    a parse failure is a row, not an error."""
    from musegen_cli.analysis.features import PieceFeatures, analyze_score
    from musegen_cli.errors import UserError
    from musegen_cli.files import read_bytes
    from musegen_cli.notation.formats import parse_score

    try:
        score = parse_score(data if data is not None else read_bytes(source), fmt)
    except UserError as exc:
        return PieceFeatures(parses=False, error=str(exc))
    return analyze_score(score)


#: Table columns: (heading, how to show a row). Titles and reasons are in `--json`.
_COLUMNS = (
    ("piece", lambda r: r["piece"]),
    ("ok", lambda r: "yes" if r["parses"] else "[red]no[/red]"),
    ("notes", lambda r: _number(r["notes"])),
    ("bars", lambda r: _number(r["bars"])),
    ("off", lambda r: _number(r["bars_off_meter"])),
    ("key", lambda r: r["declared_key"] or "-"),
    ("analyzed", lambda r: r["analyzed_key"] or "-"),
    ("ends I", lambda r: {True: "yes", False: "no", None: "-"}[r["ends_on_tonic_triad"]]),
    ("qpm", lambda r: _number(r["tempo_qpm"], 0) + ("*" if r["tempo_source"] == "default" else "")),
    ("sec", lambda r: _number(r["duration_seconds"], 1)),
    ("notes/s", lambda r: _number(r["notes_per_second"], 2)),
    ("pitch", lambda r: f"{r['pitch_mean']:.1f}±{r['pitch_sd']:.1f}" if r["pitch_mean"] is not None else "-"),
    ("range", lambda r: _number(r["pitch_range"])),
    ("Q", lambda r: r["quadrant"] or "-"),
)

_LEGEND = (
    "off: bars whose length disagrees with the meter; ends I: ends on the tonic triad; "
    "qpm: quarter notes per minute (* none declared, 120 assumed); pitch: MIDI mean±SD; "
    "Q: emotion quadrant"
)


def render_table(rows: list[dict[str, Any]]) -> None:
    """A table on stdout, then why each piece that did not parse failed. Piped output is
    not cut to 80 columns, so every row stays on one line."""
    from rich.console import Console
    from rich.table import Table

    from musegen_cli.cli.output import stdout_console

    table = Table(*(heading for heading, _ in _COLUMNS), caption=_LEGEND, caption_justify="left")
    for row in rows:
        table.add_row(*(show(row) for _, show in _COLUMNS))
    console = stdout_console
    if not console.is_terminal:  # rich would fold a piped table into 80 columns
        console = Console(file=stdout_console.file, width=10_000, highlight=False, color_system=None)
    console.print(table)
    for row in rows:
        if not row["parses"]:
            console.print(f"{row['piece']}: {row['error']}", markup=False)


def _number(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "-"
    return str(value) if digits is None else f"{value:.{digits}f}"
