"""`musegen dpo`: align a generator with preference pairs scored by a reward (DPO-Positive).

Thin: parse flags, check that the reward can score before anything is sampled, build the
copy index and reference set, then hand over to `musegen_cli.alignment.loop`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from musegen_cli.alignment.dpo import DpoOptions
from musegen_cli.alignment.loop import RunSettings
from musegen_cli.cli.options import DeviceOption, JsonFlag, SeedOption
from musegen_cli.errors import UserError

if TYPE_CHECKING:
    from musegen_cli.registry import ModelFamily
    from musegen_cli.scoring.reference import ReferenceSet
    from musegen_cli.scoring.scorer import Scorer

EPILOG = """Examples:

  musegen dpo --model runs/mine --reward emotion --iterations 3 -o runs/mine-dpo

  musegen dpo --model default --reward emotion=0.7,rules=0.3 --emotions Q2,Q3 --samples 32 -o runs/sad

  musegen dpo --model default --reward reference --reference corpus:oneills1850 -o runs/irish --seed 1

  musegen dpo --model default --reward reference --reference corpus:oneills1850 -o runs/irish --seed 1 --resume

Each iteration samples --samples pieces per condition set from the current model, scores them, keeps pieces that parse, whose voices agree and that copy no training or reference piece for the chosen side (the top --top share), pairs them with the bottom --bottom share, and trains on the pairs against a frozen copy of the starting model (--reference-model iteration: of the model the iteration started from). OUT/iter-N/ is model N (use it with `musegen generate --model`), with its preference set; OUT/report.json holds the table. Rerun the same command with --resume to continue after an interruption or with a larger --iterations."""

REWARD_HELP = "emotion, reference, text, rules, or a weighted sum such as emotion=0.7,rules=0.3."


def parse_condition_sets(values: list[str], emotions: str | None) -> list[dict[str, str]]:
    """`--conditions` (repeatable; NAME=VALUE,...; a name repeated within one value starts a new
    set, so `emotion=Q1,emotion=Q2` is two sets) and `--emotions Q1,Q2` (one set each)."""
    sets: list[dict[str, str]] = []
    for value in values:
        current: dict[str, str] = {}
        for item in value.split(","):
            name, sep, setting = item.strip().partition("=")
            if not sep or not name.strip() or not setting.strip():
                raise UserError(f"expected NAME=VALUE in --conditions, got {item.strip()!r}")
            if name.strip() in current:
                sets.append(current)
                current = {}
            current[name.strip()] = setting.strip()
        sets.append(current)
    if emotions:
        sets += [{"emotion": q.strip()} for q in emotions.split(",") if q.strip()]
    return sets


def load_reference_music(spec: str, scorer: Scorer) -> tuple[ReferenceSet, list[tuple[str, str]]]:
    """The reference set, and its pieces as (name, ABC) when it is music (for copy checks)."""
    from musegen_cli.cli.output import progress
    from musegen_cli.scoring import reference as ref

    if ref.is_feature_file(spec):
        return ref.reference_from_spec(spec, scorer), []
    pieces = ref.music_pieces(spec, progress)
    return ref.embed_reference(pieces, scorer, spec), pieces


def copy_pieces(model_dir: Path) -> list[tuple[str, str]]:
    """The training split of the dataset the model was trained on, when it is here."""
    from musegen_cli.scoring.training_copies import training_pieces

    found = training_pieces(model_dir)
    return [] if found is None else found[1]


def check_family(family: ModelFamily, condition_sets: list[dict[str, str]]) -> None:
    from musegen_cli.conditions import check_conditions

    if family.sampler is None or family.log_probability is None or not family.features.preference_training:
        raise UserError(f"the {family.name} family cannot be trained by 'musegen dpo' (its log-probability "
                            "capability offers no trainable sequence log-probabilities); see `musegen plugins`")
    for given in condition_sets:
        check_conditions(family.name, family.conditions, given)


def show_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from musegen_cli.cli.output import console

    def fmt(value: Any, spec: str = ".3f") -> str:
        return "-" if value is None else format(value, spec) if isinstance(value, float) else str(value)

    table = Table("iter", "sampled from", "reward", "valid", "emotion acc", "distinct", "similarity", "pairs", "loss",
                  caption="each row measures the samples of the model named under 'sampled from'; "
                          "pairs and loss: the training that followed", caption_justify="left")
    for row in rows:
        table.add_row(str(row["iteration"]), row["sampled_from"], fmt(row["mean_reward"]), fmt(row["valid"], ".0%"),
                      fmt(row["emotion_accuracy"], ".0%"), fmt(row["distinct"], ".0%"), fmt(row["mean_similarity"]),
                      fmt(row.get("pairs")), fmt(row.get("loss")))
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("dpo", epilog=EPILOG)
    def dpo(
        model: Annotated[Optional[str], typer.Option("--model", "-m", help="Starting model: name or folder.")] = None,
        output: Annotated[
            Optional[Path], typer.Option("-o", "--output", help="Run folder (iter-N/ models, report.json).")
        ] = None,
        reward: Annotated[str, typer.Option("--reward", help=REWARD_HELP)] = "emotion",
        iterations: Annotated[int, typer.Option(
            "--iterations", min=1, help="Sample-train rounds.")] = RunSettings.iterations,
        samples: Annotated[int, typer.Option(
            "--samples", min=2, help="Pieces per condition set and iteration.")] = RunSettings.samples,
        conditions: Annotated[list[str], typer.Option(
            "--conditions", help="A condition set NAME=VALUE,... (repeatable; emotion=Q1,emotion=Q2 is two sets).")
        ] = [],  # noqa: B006 - Typer needs a literal default
        emotions: Annotated[Optional[str], typer.Option(
            "--emotions", help="One condition set per quadrant, e.g. Q1,Q2,Q3,Q4 (the default for the emotion reward).")
        ] = None,
        top: Annotated[float, typer.Option(
            "--top", min=0.0, max=1.0, help="Share of samples chosen.")] = RunSettings.top,
        bottom: Annotated[float, typer.Option(
            "--bottom", min=0.0, max=1.0, help="Share of samples rejected (invalid pieces first).")
        ] = RunSettings.bottom,
        beta: Annotated[float, typer.Option("--beta", min=0.0, help="DPO temperature.")] = DpoOptions.beta,
        lam: Annotated[float, typer.Option("--lambda", min=0.0, help="DPO-Positive penalty weight.")] = DpoOptions.lam,
        lr: Annotated[float, typer.Option("--lr", min=0.0, help="AdamW learning rate.")] = DpoOptions.lr,
        epochs: Annotated[int, typer.Option(
            "--epochs", min=1, help="Passes over each iteration's pairs.")] = DpoOptions.epochs,
        batch: Annotated[int, typer.Option(
            "--batch", min=1, help="Pairs per optimizer step.")] = DpoOptions.batch_size,
        reference_model: Annotated[str, typer.Option(
            "--reference-model", help="DPO's frozen reference: start (the run's starting model) or iteration "
                                      "(the model each iteration starts from, as NotaGen's rounds).")
        ] = RunSettings.reference_model,
        bars: Annotated[int, typer.Option("--bars", min=1, help="Bars per sampled piece.")] = RunSettings.max_bars,
        reference: Annotated[Optional[str], typer.Option(
            "--reference", "-r", help="Reference set for the reference reward: music folder/file, corpus:NAME, "
                                      "or a feature file.")] = None,
        text: Annotated[Optional[str], typer.Option("--text", "-t", help="Description for the text reward.")] = None,
        scorer_path: Annotated[Optional[Path], typer.Option("--scorer", help="Scorer folder (default: bundled).")] = None,
        copy_threshold: Annotated[float, typer.Option(
            "--copy-threshold", min=0.0, max=1.0, help="Similarity at which a piece counts as a copy.")
        ] = RunSettings.copy_threshold,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the run in -o, skipping finished iterations.")]
        = False,
        seed: SeedOption = None,
        device: DeviceOption = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Align a generator with preference pairs from a scorer (DPO-Positive)."""
        import json

        from musegen_cli.alignment import rewards
        from musegen_cli.alignment.loop import RUN_FILE, DpoRun, prepare_output
        from musegen_cli.cli.options import choose_seed, prepare_device
        from musegen_cli.cli.output import console, emit_json, progress
        from musegen_cli.models import resolve_model
        from musegen_cli.registry import Capability, get_registry

        registry = get_registry()
        if not registry.with_capability(Capability.LOG_PROBABILITY):
            registry.require("dpo")  # the plain "no family supports dpo" error
        if model is None or output is None:
            raise UserError("musegen dpo needs --model (the model to start from) and -o (the run folder)")
        weights = rewards.parse_reward(reward)
        info = resolve_model(model, registry)
        family = registry.require("dpo", info.family)
        condition_sets = parse_condition_sets(conditions, emotions)
        if not condition_sets:
            condition_sets = [{"emotion": q} for q in rewards.QUADRANTS] if "emotion" in weights else [{}]
        check_family(family, condition_sets)
        rewards.check_scorable(weights, condition_sets, reference is not None, text is not None)
        if seed is None and resume and (output / RUN_FILE).is_file():
            seed = json.loads((output / RUN_FILE).read_text(encoding="utf-8")).get("seed")
        settings = RunSettings(
            model=str(info.path.resolve()), family=family.name, reward=weights, conditions=condition_sets,
            iterations=iterations, samples=samples, top=top, bottom=bottom,
            dpo=DpoOptions(beta=beta, lam=lam, lr=lr, epochs=epochs, batch_size=batch), seed=choose_seed(seed),
            copy_threshold=copy_threshold, max_bars=bars, reference=reference, text=text,
            scorer=str(scorer_path) if scorer_path else None, reference_model=reference_model,
        )
        scorer = reference_set = None
        copies = copy_pieces(info.path)
        if rewards.LEARNED & set(weights):
            from musegen_cli.scoring.scorer import load_scorer

            scorer = load_scorer(scorer_path)
            if reference is not None:
                reference_set, reference_pieces = load_reference_music(reference, scorer)
                copies += reference_pieces
        built = rewards.build_reward(weights, condition_sets, scorer=scorer, reference=reference_set, text=text)
        index = None
        if copies:
            from musegen_cli.scoring.similarity import SimilarityIndex

            index = SimilarityIndex(copies)
        prepare_output(output, settings, resume)
        console.print(f"dpo: {info.name} ({family.name}), reward {reward}, {len(condition_sets)} condition set(s) x "
                      f"{samples} samples, {iterations} iteration(s), seed {settings.seed} -> {output}")

        def on_row(row: dict[str, Any]) -> None:
            if not json_output:
                console.print(f"iteration {row['iteration']}: mean reward {row['mean_reward']:.3f}, "
                              f"valid {row['valid']:.0%}, pairs {row.get('pairs', '-')}")

        report = DpoRun(output, settings, family, built, prepare_device(device), index, progress, on_row).run()
        if json_output:
            emit_json(report)
            return
        show_table(report["rows"] + [report["final"]])
        last = report["final"]["sampled_from"]
        console.print(f"report: {output / 'report.json'}; last model: {info.path if last == 'start' else output / last}")
