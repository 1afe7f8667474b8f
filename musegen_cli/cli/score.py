"""`musegen score`: measure pieces (files, folders, stdin, corpus collections), one row each.

Two kinds of score, together or apart:

- `--features` (the default when nothing else is asked): the analyzer's musical features
  and metrics (`musegen_cli.analysis`);
- learned scores from the scorer (`musegen_cli.scoring`): `--reference` (cosine to a
  reference set's mean, and `plagiarism`: the nearest single reference piece, with its
  percentile and verdict against the set's own nearest neighbours), `--text`
  (cosine to a description), `--emotion Q1` (the classifier's probability of a quadrant).
  `--save-features FILE` saves the pieces' embeddings to use as a reference later.

A multi-tune ABC file gives one row per tune, named `FILE#X` after the tune's X: number.
A piece that does not parse is a row with `parses: false` and the reason, and no learned
scores; a path that does not exist is an error (exit code 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from musegen_cli.cli.options import DeviceOption, JsonFlag

if TYPE_CHECKING:
    import torch

    from musegen_cli.scoring.inputs import InputPiece
    from musegen_cli.scoring.scorer import Scorer

EPILOG = """Examples:

  musegen score tune.abc

  musegen score tunes/ --json > features.json

  cat tune.abc | musegen score - --from abc

  musegen score out/*.abc --reference corpus:oneills1850 --emotion Q1

  musegen score corpus:bach --save-features bach.safetensors

  musegen score out/ --reference bach.safetensors --text "a chorale in four voices" --json

Folders are searched recursively for .abc .xml .musicxml .mxl .mid .midi .krn files; corpus:NAME is a collection of music21's corpus (oneills1850, essenFolksong, bach, ...). Tempo is in quarter notes per minute (from Q: with its beat unit; 120 when none is declared, see tempo_source); duration and notes per second count repeats as played. The emotion quadrant Q follows the rule in musegen_cli/analysis/emotion.py: valence from the mode, arousal from notes per second, register as tie-breaker. Learned scores are cosines in [-1, 1] (probabilities for --emotion)."""


def register(app: typer.Typer) -> None:
    @app.command("score", epilog=EPILOG)
    def score(
        paths: Annotated[
            list[str], typer.Argument(help="Files, folders (searched recursively), corpus:NAME, or - for standard input.")
        ],
        features: Annotated[
            bool, typer.Option("--features", help="Musical features (the default when no learned score is asked).")
        ] = False,
        reference: Annotated[
            Optional[str],
            typer.Option("--reference", "-r", help="Reference set: music folder/file, corpus:NAME, or a saved feature file."),
        ] = None,
        text: Annotated[Optional[str], typer.Option("--text", "-t", help="A description to match.")] = None,
        emotion: Annotated[Optional[str], typer.Option("--emotion", help="Probability of this quadrant (Q1-Q4).")] = None,
        save_features: Annotated[
            Optional[Path], typer.Option("--save-features", help="Save the pieces' embeddings (a reference set).")
        ] = None,
        scorer_path: Annotated[
            Optional[Path], typer.Option("--scorer", help="Scorer folder (default: the bundled one).")
        ] = None,
        from_format: Annotated[
            Optional[str],
            typer.Option("--from", help="Input format (abc, musicxml, midi, humdrum) instead of guessing it."),
        ] = None,
        logprob: Annotated[
            bool, typer.Option("--logprob", help="With --model: each piece's summed log-probability (nats), "
                               "characters scored and bits per character, as the model's training scores it.")
        ] = False,
        model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model for --logprob (name or folder).")] = None,
        device: DeviceOption = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Score pieces of music: musical features, and learned reference, text and emotion scores."""
        from musegen_cli.cli.output import emit_json, progress
        from musegen_cli.errors import UserError
        from musegen_cli.notation.formats import INPUT_FORMATS
        from musegen_cli.scoring.inputs import collect_sources, read_pieces

        if from_format is not None and from_format not in INPUT_FORMATS:
            raise UserError(f"unknown --from format {from_format!r}; choose one of {', '.join(INPUT_FORMATS)}")
        if emotion is not None and emotion not in QUADRANTS:
            raise UserError(f"invalid emotion {emotion!r}; valid values: {', '.join(QUADRANTS)}")
        learned = any(v is not None for v in (reference, text, emotion, save_features))
        if logprob != (model is not None):
            raise UserError("--logprob and --model go together: musegen score FILES --logprob --model M")
        pieces = read_pieces(collect_sources(paths), from_format)
        rows = [
            {"piece": piece.name, **piece.analyze().to_dict()}
            for piece in progress(pieces, total=len(pieces), description="analysing")
        ]
        if learned:
            from musegen_cli.scoring.scorer import load_scorer

            scorer = load_scorer(scorer_path)
            add_learned_scores(rows, pieces, scorer, reference, text, emotion, save_features, " ".join(paths))
        if logprob:
            from musegen_cli.cli.score_logprob import add_logprob, render_logprob_table

            add_logprob(rows, pieces, model, device)
        if json_output:
            emit_json(rows)
        elif logprob and not (features or learned):
            render_logprob_table(rows)
        elif learned and not features:
            render_learned_table(rows)
        else:
            render_table(rows)


QUADRANTS = ("Q1", "Q2", "Q3", "Q4")


def add_learned_scores(rows: list[dict[str, Any]], pieces: list[InputPiece], scorer: Scorer,
                       reference: str | None, text: str | None, emotion: str | None,
                       save_features: Path | None, source: str) -> None:
    """Embed the pieces that parse and add the asked-for scores to their rows (None elsewhere)."""
    from musegen_cli.cli.output import progress
    from musegen_cli.scoring import reference as ref

    embedded = _embed_rows(rows, pieces, scorer)
    indices = [i for i, _ in embedded]
    embeddings = _stack(scorer, [e for _, e in embedded])
    if save_features is not None:
        if not indices:
            from musegen_cli.errors import UserError

            raise UserError("no piece could be read, so there are no features to save")
        ref.save_features(ref.ReferenceSet([rows[i]["piece"] for i in indices], embeddings, scorer.version, source),
                          save_features)
    columns: dict[str, list[Any]] = {}
    if reference is not None:
        reference_set = ref.reference_from_spec(reference, scorer, progress)
        best, names = ref.nearest(embeddings, reference_set)
        columns["reference"] = ref.reference_scores(embeddings, reference_set).tolist()
        columns["plagiarism"] = best.tolist()
        columns["plagiarism_match"] = names
        columns.update(_plagiarism_columns(best.tolist(), reference_set))
    if text is not None:
        columns["text"] = ref.text_scores(embeddings, scorer.embed_texts([text])[0]).tolist()
    if emotion is not None:
        columns[f"emotion_{emotion}"] = scorer.emotion_probs(embeddings)[:, QUADRANTS.index(emotion)].tolist()
    for name, values in columns.items():
        for row in rows:
            row[name] = None
        for i, value in zip(indices, values):
            rows[i][name] = value


def _plagiarism_columns(similarities: list[float], reference_set: Any) -> dict[str, list[Any]]:
    """Each nearest-piece cosine's percentile and verdict against the reference set's own
    nearest-neighbour cosines, and the thresholds (`musegen_cli.scoring.plagiarism`);
    None for a set too small to calibrate."""
    from musegen_cli.scoring.plagiarism import calibrate

    calibration = calibrate(reference_set)
    count = len(similarities)
    if calibration is None:
        return {name: [None] * count for name in _PLAGIARISM_COLUMNS}
    return {
        "plagiarism_percentile": [calibration.percentile(s) for s in similarities],
        "plagiarism_verdict": [calibration.verdict(s) for s in similarities],
        "plagiarism_copy_threshold": [calibration.copy_threshold] * count,
        "plagiarism_close_threshold": [calibration.close_threshold] * count,
    }


_PLAGIARISM_COLUMNS = ("plagiarism_percentile", "plagiarism_verdict", "plagiarism_copy_threshold",
                       "plagiarism_close_threshold")


def _embed_rows(rows: list[dict[str, Any]], pieces: list[InputPiece], scorer: Scorer) -> list[tuple[int, Any]]:
    """(row index, embedding) of every piece that parses and has ABC text, with a progress bar."""
    from musegen_cli.cli.output import progress

    texts: list[tuple[int, str]] = []
    for index, (row, piece) in enumerate(zip(rows, pieces)):
        if not row["parses"]:
            continue
        abc = piece.abc()
        if abc is None:
            row.update(parses=False, error="could not be written as ABC for the scorer")
            continue
        texts.append((index, abc))
    batch = 64
    embedded: list[tuple[int, Any]] = []
    for start in progress(range(0, len(texts), batch), total=-(-len(texts) // batch), description="embedding"):
        chunk = texts[start : start + batch]
        vectors = scorer.embed_pieces([abc for _, abc in chunk], batch_size=batch)
        embedded += [(index, vector) for (index, _), vector in zip(chunk, vectors)]
    return embedded


def _stack(scorer: Scorer, vectors: list[torch.Tensor]) -> torch.Tensor:
    import torch

    return torch.stack(vectors) if vectors else torch.zeros(0, scorer.dim)


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


_LEARNED_LEGEND = (
    "ref: cosine to the reference set's mean; nearest: the closest reference piece and its cosine{calibration}; "
    "text: cosine to the description; P(Qn): the emotion classifier's probability; Q: the analyzer's quadrant"
)


def _learned_legend(rows: list[dict[str, Any]]) -> str:
    """The legend, with the plagiarism thresholds of this reference set when it has them."""
    calibrated = next((r for r in rows if r.get("plagiarism_copy_threshold") is not None), None)
    if calibrated is None:
        return _LEARNED_LEGEND.format(calibration="")
    return _LEARNED_LEGEND.format(calibration=(
        ", its percentile pN among the reference pieces' own nearest-neighbour cosines and the verdict "
        f"(copy from p99: {calibrated['plagiarism_copy_threshold']:.5f}, "
        f"close from p90: {calibrated['plagiarism_close_threshold']:.5f})"))


def _nearest(row: dict[str, Any]) -> str:
    if row["plagiarism"] is None:
        return "-"
    if row.get("plagiarism_verdict") is None:
        return f"{row['plagiarism']:.4f} {row['plagiarism_match']}"
    return (f"{row['plagiarism']:.4f} p{row['plagiarism_percentile']:.0f} {row['plagiarism_verdict']} "
            f"{row['plagiarism_match']}")


def _learned_columns(rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    columns: list[tuple[str, Any]] = [
        ("piece", lambda r: r["piece"]),
        ("ok", lambda r: "yes" if r["parses"] else "[red]no[/red]"),
        ("key", lambda r: r["declared_key"] or "-"),
        ("Q", lambda r: r["quadrant"] or "-"),
    ]
    present = set(rows[0]) if rows else set()
    if "reference" in present:
        columns += [("ref", lambda r: _number(r["reference"], 3)),
                    ("nearest", _nearest)]
    if "text" in present:
        columns.append(("text", lambda r: _number(r["text"], 3)))
    for quadrant in QUADRANTS:
        if f"emotion_{quadrant}" in present:
            columns.append((f"P({quadrant})", lambda r, q=quadrant: _number(r[f"emotion_{q}"], 3)))
    return columns


def render_table(rows: list[dict[str, Any]]) -> None:
    """The features table (see `_COLUMNS`)."""
    _print_table(rows, list(_COLUMNS), _LEGEND)


def render_learned_table(rows: list[dict[str, Any]]) -> None:
    """The learned scores beside the piece's key and analyzed quadrant."""
    _print_table(rows, _learned_columns(rows), _learned_legend(rows))


def _print_table(rows: list[dict[str, Any]], columns: list[tuple[str, Any]], legend: str) -> None:
    """A table on stdout, then why each piece that did not parse failed. Piped output is
    not cut to 80 columns, so every row stays on one line."""
    from rich.table import Table

    from musegen_cli.cli.output import print_table, stdout_console

    table = Table(*(heading for heading, _ in columns), caption=legend, caption_justify="left")
    for row in rows:
        table.add_row(*(show(row) for _, show in columns))
    print_table(table)
    for row in rows:
        if not row["parses"]:
            stdout_console.print(f"{row['piece']}: {row['error']}", markup=False, soft_wrap=True)


def _number(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "-"
    return str(value) if digits is None else f"{value:.{digits}f}"
