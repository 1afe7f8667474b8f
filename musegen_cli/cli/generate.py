"""`musegen generate`: new music from a model, under conditions, to stdout or files."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from musegen_cli.cli.options import (
    DeviceOption,
    JsonFlag,
    SeedOption,
    choose_seed,
    parse_assignments,
    prepare_device,
)
from musegen_cli.cli.output import console, emit_json, warn
from musegen_cli.contract import SAMPLING_DEFAULTS
from musegen_cli.errors import UserError
from musegen_cli.registry import ModelFamily

if TYPE_CHECKING:
    from musegen_cli.contract import GenerateRequest
    from musegen_cli.generation import GeneratedPiece
    from musegen_cli.scoring.similarity import Match
    from musegen_cli.scoring.training_copies import CopyCheck

#: Conditions with a flag of their own; any other a family accepts goes through --condition.
NAMED_CONDITIONS = ("emotion", "period", "composer", "instrumentation")


def check_conditions(
    family: ModelFamily, given: dict[str, str], known: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """The core's one check of a request's conditions (`musegen_cli.conditions`) for ``family``,
    with ``known`` the loaded model's values of its model-dependent conditions."""
    from musegen_cli.conditions import check_conditions as check

    return check(family.name, family.conditions, given, known)


#: Weight precisions `--precision` accepts (a family declares those it offers: `Features.precisions`).
PRECISIONS = ("fp32", "bf16", "int8")


def load_options(family: ModelFamily, precision: str, compile_steps: bool, steered: bool) -> dict[str, Any]:
    """What `Sampler.load` is asked for beyond the default (fp32, not compiled), checked against
    the family's declared features."""
    if precision not in PRECISIONS:
        raise UserError(f"invalid precision {precision!r}; valid values: {', '.join(PRECISIONS)}")
    options: dict[str, Any] = {}
    if precision != "fp32":
        if precision not in family.features.precisions:
            raise UserError(f"the {family.name} family samples in {', '.join(family.features.precisions)} only; "
                            "leave out --precision")
        options["precision"] = precision
    if compile_steps:
        if steered:
            raise UserError("--compile cannot be combined with --direction: the compiled step is not steered")
        if not family.features.compiled_steps:
            raise UserError(f"the {family.name} family has no compiled sampler; leave out --compile")
        options["compile_steps"] = True
    return options


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def show_summary(pieces: list[GeneratedPiece], seed: int, copies: CopyCheck | None = None) -> None:
    """A table of each piece's measured features on stderr (stdout stays pure ABC); with
    ``copies``, whether each piece copies a training piece of its model."""
    from rich.markup import escape
    from rich.table import Table

    asked = any(piece.held for piece in pieces)
    columns = ["#", "valid", "bars", "key", "qpm", "notes/s", "pitch", "Q"] + (["held"] if asked else [])
    columns += ["training copy"] if copies is not None else []
    table = Table(*columns, title=f"seed {seed}")
    for index, piece in enumerate(pieces, start=1):
        f = piece.features
        verdict = "yes" if piece.valid else f"no ({escape(piece.verdict.reason)})"  # reasons quote ABC: [V:1]
        extra = [escape(_held_cell(piece))] if asked else []
        extra += [_copy_cell(copies.matches[index - 1])] if copies is not None else []
        if not f.parses:
            table.add_row(str(index), verdict, "-", "-", "-", "-", "-", "-", *extra)
            continue
        table.add_row(
            str(index),
            verdict,
            str(f.bars),
            f"{f.declared_key or f.analyzed_key or '-'}",
            _number(f.tempo_qpm, ".0f"),
            _number(f.notes_per_second, ".2f"),
            _number(f.pitch_mean, ".1f"),
            str(f.quadrant or "-"),
            *extra,
        )
    console.print(table)


def _held_cell(piece: GeneratedPiece) -> str:
    """Each requested condition with yes, no or ? (not measurable on a piece)."""
    return " ".join(f"{r.name} {'yes' if r.held else '?' if r.held is None else 'no'}" for r in piece.held)


def _copy_cell(match: Match) -> str:
    from rich.markup import escape

    if not match.is_copy:
        return f"no ({match.similarity:.2f})"
    return f"[red]yes[/red]: {escape(str(match.id))} ({match.similarity:.2f})"  # ids are file names: [1] is text


def copy_of(copies: CopyCheck | None, index: int) -> dict[str, Any] | None:
    """The training piece piece ``index`` copies, as JSON (its id and similarity), or None."""
    if copies is None or not copies.matches[index].is_copy:
        return None
    match = copies.matches[index]
    return {"id": match.id, "similarity": round(match.similarity, 4)}


def warn_copies(copies: CopyCheck | None) -> None:
    """One line per piece that copies a training piece (`scoring.training_copies`)."""
    from musegen_cli.scoring.similarity import COPY_THRESHOLD

    for index, match in enumerate(copies.matches if copies is not None else [], start=1):
        if match.is_copy:
            warn(f"piece {index} copies training piece {match.id} (similarity {match.similarity:.2f}; "
                 f"{COPY_THRESHOLD:.2f} and above is a copy)")


def warn_misses(pieces: list[GeneratedPiece]) -> None:
    """One line per requested condition a piece did not hold."""
    for index, piece in enumerate(pieces, start=1):
        for miss in piece.misses:
            warn(f"piece {index}: {miss.miss}")


EPILOG = (
    "Examples:\n\n"
    "  musegen generate --emotion Q1\n\n"
    "  musegen generate --emotion Q3 -n 8 -o out/ --format abc,midi,wav --seed 7\n\n"
    "  musegen generate --period Romantic --composer Chopin --instrumentation Keyboard\n\n"
    "  musegen generate --prime start.abc --bars 16\n\n"
    "  musegen generate -m runs/muser --from A.mid --take pitch,velocity --of B.mid -o out/ --format midi\n\n"
    "  musegen generate --direction directions/mode,strength=0.5 --direction directions/register,strength=-0.3\n\n"
    "--direction takes a folder from `musegen steer fit` and optional settings: strength (signed; default "
    "0.5; measured useful from 0.1 to about 0.8, beyond that bars break; header lines are never steered), label "
    "(multiclass concepts), layers (all, top-k, exp), top_k, base, decay, schedule (constant, exp-decay, "
    "linear-decay, linear-ramp), horizon, rate, probability."
)


def steering(family: ModelFamily, loaded: object, model_path: Path, specs: list[str], seed: int):
    """The context that adds the `--direction` specs during generation (none: does nothing)."""
    import contextlib

    if not specs:
        return contextlib.nullcontext()
    from musegen_cli.steering.specs import steering_context

    return steering_context(family, loaded, model_path, specs, seed)


def transfer_spec(source: Path | None, take: str | None, donor: Path | None) -> tuple[Path, list[str], Path] | None:
    """`--from A --take pitch,velocity --of B` as (A, elements, B); None when not asked for."""
    given = [value is not None for value in (source, take, donor)]
    if not any(given):
        return None
    if not all(given):
        raise UserError("element transfer needs all of --from PIECE, --take ELEMENTS and --of PIECE")
    elements = [name.strip() for name in str(take).split(",") if name.strip()]
    if not elements:
        raise UserError("--take needs at least one element, e.g. --take pitch,velocity")
    return source, elements, donor  # type: ignore[return-value]


def transfer_pieces(family: ModelFamily, loaded: object, request: GenerateRequest,
                    spec: tuple[Path, list[str], Path]) -> list[GeneratedPiece]:
    """Pieces from the model's `transfer(source, donor, take, request)` (`Features.element_transfer`):
    `source` with the `take` elements of `donor`, checked like generated ones."""
    from musegen_cli.contract import Transfers
    from musegen_cli.generation import GeneratedPiece, check

    if not (family.features.element_transfer and isinstance(loaded, Transfers)):
        raise UserError(f"the {family.name} family cannot transfer elements between pieces; "
                        "leave out --from/--take/--of (the muser family can)")
    source, take, donor = spec
    return [GeneratedPiece(text, check(text), 1) for text in loaded.transfer(source, donor, take, request)]


def write_audio(loaded: Any, request: GenerateRequest, output: Path | None, formats: str | None, model: str,
                json_output: bool) -> None:
    """A model whose family's `Features.output` is "audio" returns WAV bytes: write them to -o DIR as
    piece-NNN.wav and show what the offline audio measurements find in each."""
    from musegen_cli.analysis.audio import measure
    from musegen_cli.analysis.wav import read_wav
    from musegen_cli.files import atomic_write

    if formats is not None and [f.strip().lower() for f in formats.split(",") if f.strip()] != ["wav"]:
        raise UserError(f"this model writes audio: --format {formats} is not possible, only wav")
    if output is None:
        raise UserError("this model writes audio: give -o DIR for its WAV files")
    measured = []
    for index, data in enumerate(loaded.generate(request), start=1):
        path = atomic_write(output / f"piece-{index:03d}.wav", data)
        measured.append({"file": str(path), **measure(*read_wav(data))})
    if json_output:
        emit_json({"model": model, "seed": request.seed, "conditions": dict(request.conditions), "pieces": measured,
                   "files": [m["file"] for m in measured]})
        return
    from rich.table import Table

    table = Table("#", "seconds", "artifacts", "tempo", "notes", title=f"seed {request.seed}")
    for index, m in enumerate(measured, start=1):
        tempo = m["tempo_bpm"]
        table.add_row(str(index), f"{m['duration']:.2f}", f"{m['artifacts']['penalty']:.3f}",
                      "-" if tempo is None else f"{tempo:.0f}", str(m["notes"]))
    console.print(table)
    console.print(f"Wrote {len(measured)} file(s) to {output}.")


def register(app: typer.Typer) -> None:
    app.command("generate", epilog=EPILOG)(generate_command)


def generate_command(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model name or folder.")] = None,
    emotion: Annotated[Optional[str], typer.Option("--emotion", help="Russell quadrant Q1-Q4.")] = None,
    period: Annotated[Optional[str], typer.Option("--period", help="Period, e.g. Romantic.")] = None,
    composer: Annotated[Optional[str], typer.Option("--composer", help="Composer, e.g. Chopin.")] = None,
    instrumentation: Annotated[Optional[str], typer.Option("--instrumentation", help="e.g. Keyboard.")] = None,
    text: Annotated[Optional[str], typer.Option("--text", help="Describe the music (text-prompted families: musicgen).")] = None,
    duration: Annotated[Optional[float], typer.Option("--duration", min=0.0, help="Audio families: seconds per piece.")] = None,
    guidance_scale: Annotated[
        Optional[float], typer.Option("--guidance-scale", min=0.0, help="Audio families: classifier-free guidance.")
    ] = None,
    condition: Annotated[
        list[str], typer.Option("--condition", "-c", help="Other condition NAME=VALUE (repeatable).")
    ] = [],  # noqa: B006 - Typer needs a literal default
    prime: Annotated[Optional[Path], typer.Option("--prime", help="ABC file whose tune to continue.")] = None,
    bars: Annotated[Optional[int], typer.Option("--bars", min=1, help="Exactly this many bars (default: the model's "
                                "length band, e.g. 8-64 bars, ending at a section end).")] = None,
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many pieces.")] = 1,
    temperature: Annotated[
        Optional[float], typer.Option("--temperature", min=0.0, help=f"Default {SAMPLING_DEFAULTS['temperature']} "
                                      "(an imported model: its source's).")
    ] = None,
    top_k: Annotated[
        Optional[int], typer.Option("--top-k", min=0, help=f"0 keeps every token. Default {SAMPLING_DEFAULTS['top_k']} "
                                "(an imported model: its source's).")
    ] = None,
    top_p: Annotated[
        Optional[float], typer.Option("--top-p", min=0.0, max=1.0, help=f"Default {SAMPLING_DEFAULTS['top_p']} "
                                      "(an imported model: its source's).")
    ] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder for the pieces.")] = None,
    formats: Annotated[
        Optional[str], typer.Option("--format", "-f", help="With -o: any of abc,musicxml,midi,wav,svg (comma-separated; "
                                    "audio families write wav only).")
    ] = None,
    bar_retries: Annotated[
        int | None, typer.Option("--bar-retries", min=0, help="Write a bar again up to N times when it does not "
                                    f"fit the meter (0: off). Default {SAMPLING_DEFAULTS['bar_retries']}.")
    ] = None,
    strict_conditions: Annotated[
        bool, typer.Option("--strict-conditions", help="Resample a piece until every requested condition it can "
                           "be measured on holds (bounded: at least 8 rounds); otherwise each miss is a warning.")
    ] = False,
    retry_invalid: Annotated[
        int, typer.Option("--retry-invalid", min=0, help="Resample a piece that fails its checks up to N times "
                          "(0 streams a single piece to a terminal bar by bar).")
    ] = 3,
    direction: Annotated[
        list[str], typer.Option("--direction", help="Steer: DIRECTIONS[,strength=S,schedule=...] (repeatable).")
    ] = [],  # noqa: B006 - Typer needs a literal default
    precision: Annotated[
        str, typer.Option("--precision", help="Weights to sample with: fp32, bf16, or int8 (CPU; about 2x faster).")
    ] = "fp32",
    compile_steps: Annotated[
        bool, typer.Option("--compile", help="Spell characters and push patches with torch.compile'd steps: "
                           "faster long generations after a one-off compile of some seconds "
                           "(a C++ compiler on the CPU).")
    ] = False,
    transfer_from: Annotated[
        Optional[Path], typer.Option("--from", help="Element transfer: the piece to change (with --take, --of).")
    ] = None,
    take: Annotated[
        Optional[str], typer.Option("--take", help="Element transfer: elements to take, e.g. pitch,velocity.")
    ] = None,
    transfer_of: Annotated[
        Optional[Path], typer.Option("--of", help="Element transfer: the piece to take the elements from.")
    ] = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Generate music: ABC on stdout, or files in -o DIR; each piece is checked and measured."""
    from musegen_cli import config
    from musegen_cli.contract import GenerateRequest, SamplingOptions
    from musegen_cli.files import read_bytes, write_stdout
    from musegen_cli.generation import (
        generate_checked,
        generate_streaming,
        parse_formats,
        write_piece,
    )
    from musegen_cli.models import resolve_model
    from musegen_cli.registry import Capability, get_registry
    from musegen_cli.scoring.training_copies import check_copies

    registry = get_registry()
    if not registry.with_capability(Capability.SAMPLER):
        registry.require("generate")  # raises the plain "no family supports generate" error
    info = resolve_model(config.get("model", model), registry)
    family = registry.require("generate", info.family)
    named = {"emotion": emotion, "period": period, "composer": composer, "instrumentation": instrumentation,
             "text": text}
    given = {k: v for k, v in named.items() if v is not None}
    given.update({k: str(v) for k, v in parse_assignments(condition).items()})
    seed = choose_seed(seed)
    options = load_options(family, precision, compile_steps, bool(direction))
    loaded = family.sampler.load(info.path, prepare_device(device), **options)
    request = GenerateRequest(
        conditions=check_conditions(family, given, loaded.known_conditions()),
        count=count,
        seed=seed,
        prime=read_bytes(prime).decode("utf-8", errors="replace") if prime else None,
        max_bars=bars,
        sampling=SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, bar_retries=bar_retries),
    )
    if request.prime is not None:
        from musegen_cli.analysis.adherence import prime_conflicts

        conflicts = prime_conflicts(request.prime, request.conditions)
        if conflicts:
            raise UserError("; ".join(conflicts) + ": change the prime or drop the condition")
    if family.features.output == "audio":
        request = replace(request, sampling=replace(request.sampling, duration=duration, guidance_scale=guidance_scale))
        with steering(family, loaded, info.path, direction, seed):
            write_audio(loaded, request, output, formats, info.name, json_output)
        return
    if duration is not None or guidance_scale is not None:
        raise UserError("--duration and --guidance-scale are for audio families (musicgen); leave them out")
    wanted = parse_formats(formats or "abc")
    if output is None and wanted != ["abc"]:
        raise UserError("--format other than abc needs -o DIR")
    live = count == 1 and output is None and not json_output and retry_invalid == 0 and not strict_conditions
    live = live and sys.stdout.isatty() and family.features.streams
    transfer = transfer_spec(transfer_from, take, transfer_of)
    live = live and transfer is None
    with steering(family, loaded, info.path, direction, seed):
        if transfer is not None:
            pieces = transfer_pieces(family, loaded, request, transfer)
        elif live:
            pieces = [generate_streaming(loaded, request, lambda text: (sys.stdout.write(text), sys.stdout.flush()))]
            sys.stdout.write("\n")
        else:
            pieces = generate_checked(loaded, request, retry_invalid, strict_conditions)
    copies = check_copies(info.path, [piece.abc for piece in pieces])  # None: training data unknown
    written: list[str] = []
    if output is not None:
        for index, piece in enumerate(pieces, start=1):
            files, problems = write_piece(piece.abc, output / f"piece-{index:03d}", wanted)
            written += map(str, files)
            for problem in problems:
                warn(problem)
    elif not json_output and not live:
        write_stdout("\n\n".join(piece.abc.rstrip("\n") for piece in pieces) + "\n")
    if json_output:
        emit_json(
            {
                "model": info.name,
                "seed": seed,
                "conditions": dict(request.conditions),
                "pieces": [
                    {"abc": p.abc, "valid": p.valid, "reasons": list(p.verdict.reasons),
                     "closes_on_tonic_triad": p.verdict.closes_on_tonic_triad,
                     "closes_on_tonic": p.verdict.closes_on_tonic,
                     "conditions_held": [asdict(result) for result in p.held],
                     "attempts": p.attempts, "features": p.features.to_dict(),
                     "copies_training_piece": copy_of(copies, index)}
                    for index, p in enumerate(pieces)
                ],
                "training_data": None if copies is None else {"folder": str(copies.folder),
                                                              "pieces": copies.training_pieces},
                "files": written,
            }
        )
        return
    warn_misses(pieces)
    warn_copies(copies)
    show_summary(pieces, seed, copies)
    if written:
        console.print(f"Wrote {len(written)} file(s) to {output}.")
