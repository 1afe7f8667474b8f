"""`musegen convert`: ABC, MusicXML, MIDI and Humdrum in; ABC, MusicXML, MIDI, WAV, SVG out.

Thin layer: it resolves inputs (files, folders, `-`) and where outputs go, calls
`notation.conversion.convert` per input, writes every file atomically, and reports. One bad
input in a batch does not stop the others; the summary names each failure and the exit
code is 2 when any failed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape

from musegen_cli.cli.options import JsonFlag
from musegen_cli.cli.output import console, emit_json, progress, warn
from musegen_cli.errors import UserError
from musegen_cli.files import STDIO, atomic_write, read_bytes, write_stdout
from musegen_cli.notation.abc_writer import LAYOUTS
from musegen_cli.notation.conversion import TARGETS
from musegen_cli.notation.formats import EXTENSIONS, INPUT_FORMATS
from musegen_cli.notation.synth import ENGINES

if TYPE_CHECKING:
    from musegen_cli.notation.conversion import Piece

BINARY_TARGETS = ("midi", "wav")

EPILOG = """\
Examples:

  musegen convert tune.abc --to musicxml -o tune.musicxml

  cat tune.abc | musegen convert --to musicxml - > tune.musicxml

  musegen convert --from midi --to abc - < song.mid

  Folder in, folder out, with a progress bar and a summary of failures:

  musegen convert scores/ --to abc -o abc/

  A multi-tune ABC file gives one file per tune (book-1.mid, book-2.mid, ... by X: number):

  musegen convert book.abc --to midi -o midi/

  NotaGen-style ABC, one line per bar with [V:n] per voice:

  musegen convert chorale.musicxml --to abc --abc-layout interleaved

  Audio (tempo from the score) and sheet music (long scores: tune-1.svg, tune-2.svg, ...):

  musegen convert tune.abc --to wav -o tune.wav

  musegen convert tune.abc --to svg -o tune.svg

  A JSON summary for scripts (exit code 2 if any input failed):

  musegen convert scores/ --to midi -o midi/ --json
"""


@dataclass(frozen=True)
class _Settings:
    """What every input is converted to, and how."""

    target: str
    source: str | None  # None: detect per input
    layout: str
    synth: str
    chords: bool = False


@dataclass(frozen=True)
class _Job:
    """One input to convert and the stem its outputs are named after."""

    source: str  # a path, or "-" for stdin
    relative: Path  # output name without extension, relative to the output folder


def register(app: typer.Typer) -> None:
    app.command("convert", epilog=EPILOG)(convert)


def convert(
    inputs: Annotated[list[str], typer.Argument(help="Files, folders, or - for standard input.", show_default=False)],
    to: Annotated[str, typer.Option("--to", help=f"Output format: {', '.join(TARGETS)}.", show_default=False)],
    source_format: Annotated[
        Optional[str],
        typer.Option("--from", help=f"Input format ({', '.join(INPUT_FORMATS)}); needed only when stdin is ambiguous."),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "-o",
            "--output",
            help="Output file, or folder (an existing folder, a path ending in / or without an extension). "
            "Default: stdout.",
        ),
    ] = None,
    abc_layout: Annotated[
        str,
        typer.Option("--abc-layout", help="ABC voices: classic (one block per voice) or interleaved ([V:n] per bar)."),
    ] = "classic",
    synth: Annotated[
        str, typer.Option("--synth", help='WAV engine: auto, simple (built-in) or soundfont (pip install "musegen[audio]").')
    ] = "auto",
    chords: Annotated[
        bool,
        typer.Option("--chords", help="ABC to MIDI/WAV: play chord symbols as block chords on their own channel."),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Convert between ABC, MusicXML, MIDI and Humdrum; render WAV audio and SVG sheet music."""
    _check_choice("--to", to, tuple(TARGETS))
    _check_choice("--from", source_format, INPUT_FORMATS)
    _check_choice("--abc-layout", abc_layout, LAYOUTS)
    _check_choice("--synth", synth, ENGINES)
    jobs, batch = _jobs(inputs)
    settings = _Settings(to, source_format, abc_layout, synth, chords)
    if output is None:
        if batch:
            raise UserError("converting several inputs needs -o FOLDER")
        if json_output:
            raise UserError("--json needs -o PATH (stdout carries the converted music)")
        _to_stdout(jobs[0], settings)
        return
    folder = batch or _is_folder(output)
    results = [
        _run(job, settings, output if folder else None, None if folder else output)
        for job in progress(jobs, total=len(jobs), description="converting")
    ]
    _report(results, json_output, batch)


def _check_choice(flag: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise UserError(f"{flag} {value!r} is not one of: {', '.join(choices)}")


def _jobs(inputs: list[str]) -> tuple[list[_Job], bool]:
    """Expand folders into their music files; True when this is a batch (many outputs)."""
    if not inputs:
        raise UserError("give at least one input file, folder, or - for standard input")
    jobs: list[_Job] = []
    batch = len(inputs) > 1
    for item in inputs:
        if item == STDIO:
            jobs.append(_Job(STDIO, Path("stdin")))
            continue
        path = Path(item)
        if path.is_dir():
            batch = True
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
            if not found:
                raise UserError(f"no music files ({', '.join(sorted(EXTENSIONS))}) in {path}")
            jobs.extend(_Job(str(p), p.relative_to(path).with_suffix("")) for p in found)
        else:
            jobs.append(_Job(item, Path(path.stem)))
    return jobs, batch


def _is_folder(output: Path) -> bool:
    return output.is_dir() or str(output).endswith(("/", "\\")) or not output.suffix


def _convert_job(job: _Job, data: bytes, settings: _Settings) -> list[Piece]:
    from musegen_cli.notation.conversion import convert as convert_bytes
    from musegen_cli.notation.formats import detect_format

    source = settings.source or detect_format(job.source, data)
    return convert_bytes(
        data, source, settings.target, layout=settings.layout, synth=settings.synth, chords=settings.chords
    )


def _to_stdout(job: _Job, settings: _Settings) -> None:
    target = settings.target
    if target in BINARY_TARGETS and sys.stdout.isatty():
        raise UserError(f"refusing to write binary {target.upper()} to a terminal; use -o FILE or redirect stdout")
    data = read_bytes(job.source)  # its errors name the file
    try:
        pieces = _convert_job(job, data, settings)
    except UserError as exc:
        raise UserError(f"{_name(job)}: {exc}") from exc
    failed = [p for p in pieces if p.error]
    if len(pieces) == 1 and failed:
        raise UserError(f"{_name(job)}: {failed[0].error}")
    if len(pieces) > 1:
        raise UserError(f"{_name(job)} holds {len(pieces)} tunes; use -o FOLDER to write one {target} file per tune")
    outputs = pieces[0].outputs
    if len(outputs) > 1:
        warn(f"the score has {len(outputs)} pages; writing page 1 (use -o FILE.svg for all pages)")
    write_stdout(outputs[0])


def _run(job: _Job, settings: _Settings, folder: Path | None, file: Path | None) -> dict:
    """Convert one input and write its files; a dict for the summary, never raises UserError."""
    extension = TARGETS[settings.target]
    base = (folder / job.relative) if folder is not None else file.with_suffix("")
    try:
        pieces = _convert_job(job, read_bytes(job.source), settings)
    except UserError as exc:
        return {"input": _name(job), "outputs": [], "errors": [str(exc)]}
    written: list[str] = []
    errors: list[str] = []
    for piece in pieces:
        if piece.error:
            errors.append(f"tune X:{piece.label}: {piece.error}" if piece.label else piece.error)
            continue
        for page, data in enumerate(piece.outputs, 1):
            name = _output_name(base, piece.label, page if len(piece.outputs) > 1 else None, extension)
            if file is not None and len(pieces) == 1 and len(piece.outputs) == 1:
                name = file
            try:
                written.append(str(atomic_write(name, data)))
            except UserError as exc:
                errors.append(str(exc))
    return {"input": _name(job), "outputs": written, "errors": errors}


def _output_name(base: Path, label: str, page: int | None, extension: str) -> Path:
    suffix = "".join(f"-{part}" for part in (label, page) if part)
    return base.with_name(base.name + suffix + extension)


def _name(job: _Job) -> str:
    return "standard input" if job.source == STDIO else job.source


def _report(results: list[dict], json_output: bool, batch: bool) -> None:
    failed = [r for r in results if r["errors"]]
    if json_output:
        emit_json(
            {
                "converted": sum(1 for r in results if not r["errors"]),
                "failed": len(failed),
                "results": results,
            }
        )
    elif not batch and failed and not failed[0]["outputs"]:
        raise UserError(f"{failed[0]['input']}: {failed[0]['errors'][0]}")
    else:
        files = sum(len(r["outputs"]) for r in results)
        console.print(
            f"converted {len(results) - len(failed)} of {len(results)} inputs; wrote {files} file{'s' * (files != 1)}"
        )
        for result in failed:
            for error in result["errors"]:
                console.print(f"[red]failed:[/red] {escape(result['input'])}: {escape(error)}", soft_wrap=True)
    if failed:
        raise typer.Exit(2)
