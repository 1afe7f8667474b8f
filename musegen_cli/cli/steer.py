"""`musegen steer fit | show | generate`: concept directions in a model's layers, and using them.

`fit` captures a model's pooled activations on the pieces of a concept and fits a Recursive
Feature Machine per layer (`musegen_cli.steering`); `show` prints each layer's validation
scores against a linear probe and plots them; `generate` is `musegen generate` with at
least one `--direction`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from musegen_cli.cli.options import DeviceOption, JsonFlag, SeedOption, choose_seed, prepare_device
from musegen_cli.cli.output import console, emit_json, print_table, progress, warn
from musegen_cli.errors import UserError

BUILT_IN = ("mode", "register", "density", "meter", "tonic")  # steering.concepts.BUILT_IN, without torch

FIT_EPILOG = """Examples:

  musegen steer fit --concept mode -o directions/mode

  musegen steer fit --concept density --pieces 600 --pooling last -o directions/density

  musegen steer fit --folder calm=calm_tunes/ --folder wild=wild_tunes/ -o directions/wild

  musegen steer fit --csv brightness.csv -o directions/brightness      # rows: piece,value

Built-in concepts (labelled by the analyzer on --data, by default the corpus dataset): mode (towards minor), register (towards high), density (notes per second, towards denser), meter and tonic (one direction per class). With --folder, a positive strength steers towards the second label given.

Scores are measured on 20% of the pieces. Fewer than 10 validation pieces of a class (20 in all for --csv), that is fewer than about 50 pieces per class, gives a warning: such scores are too coarse to trust."""

SHOW_EPILOG = """Examples:

  musegen steer show directions/mode

  musegen steer show directions/mode --plot mode.png --json"""


def register(app: typer.Typer) -> None:
    steer_app = typer.Typer(help="Find concept directions in a model's layers and steer generation with them.",
                            no_args_is_help=True)
    app.add_typer(steer_app, name="steer")

    @steer_app.command("fit", epilog=FIT_EPILOG)
    def fit_command(
        output: Annotated[Path, typer.Option("-o", "--output", help="Directions folder to write.")],
        concept: Annotated[Optional[str], typer.Option("--concept", help=f"Built-in: {', '.join(BUILT_IN)}.")] = None,
        folder: Annotated[
            list[str], typer.Option("--folder", help="LABEL=FOLDER of music, one per class (repeat).")
        ] = [],  # noqa: B006 - Typer needs a literal default
        csv_path: Annotated[Optional[Path], typer.Option("--csv", help="piece,value rows: a regression concept.")] = None,
        model: Annotated[str, typer.Option("--model", "-m", help="Model name or folder.")] = "default",
        data: Annotated[str, typer.Option("--data", help="Dataset for built-in concepts (folder or corpus).")] = "corpus",
        pieces: Annotated[int, typer.Option("--pieces", min=16, help="Pieces to fit on (classes balanced).")] = 400,
        pooling: Annotated[str, typer.Option("--pooling", help="mean or last position.")] = "mean",
        rounds: Annotated[int, typer.Option("--rounds", min=0, help="RFM rounds (AGOP updates) per fit.")] = 5,
        seed: SeedOption = None,
        device: DeviceOption = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Fit a concept's directions in every layer of a model (RFM per layer, against a linear probe)."""
        from musegen_cli.model_dir import weights_hash
        from musegen_cli.models import resolve_model
        from musegen_cli.registry import Capability, get_registry
        from musegen_cli.steering import directions as dirs
        from musegen_cli.steering.fit import fit_directions

        given = sum(x is not None and x != [] for x in (concept, folder or None, csv_path))
        if given != 1:
            raise UserError("give exactly one of --concept, --folder LABEL=FOLDER (repeated) or --csv FILE")
        if pooling not in ("mean", "last"):
            raise UserError(f"--pooling must be mean or last, not {pooling!r}")
        seed = choose_seed(seed)
        registry = get_registry()
        if not registry.with_capability(Capability.LAYERS):
            registry.require("steer")  # raises the plain "no family supports steer" error
        info = resolve_model(model, registry)
        family = registry.require("steer", info.family)
        reads = family.features.layer_input  # "audio": the family's layers read WAV files
        concept_data = _concept(concept, folder, csv_path, data, pieces, seed, reads)
        loaded = family.sampler.load(info.path, prepare_device(device))
        console.print(f"{concept_data.name}: {len(concept_data.pieces)} pieces ({', '.join(concept_data.labels)}); "
                      f"capturing {len(family.layers.names(loaded))} layers of {info.name}")
        activations = family.layers.capture(loaded, concept_data.pieces, None, pooling)
        bar = iter(progress(range(len(activations)), total=len(activations), description="fitting layers"))
        found = fit_directions(activations, concept_data,
                               {"name": info.name, "family": info.family, "weights_hash": weights_hash(info.path)},
                               pooling, seed=seed, rounds=rounds, on_layer=lambda *_: next(bar, None))
        for _ in bar:
            pass
        dirs.save(found, output)
        _report(found, output, json_output)
        if not json_output:
            console.print(f"Wrote {output}.")

    from musegen_cli.cli.generate import EPILOG, generate_command

    steer_app.command("generate", epilog=EPILOG, help="Generate with --direction (the same options as "
                      "`musegen generate`).")(generate_command)

    @steer_app.command("show", epilog=SHOW_EPILOG)
    def show_command(
        folder: Annotated[Path, typer.Argument(help="A directions folder from `musegen steer fit`.")],
        plot: Annotated[Optional[Path], typer.Option("--plot", help="Where to write the plot (PNG).")] = None,
        json_output: JsonFlag = False,
    ) -> None:
        """Per-layer validation scores of a concept's directions (RFM vs linear probe), and a plot."""
        from musegen_cli.steering import directions as dirs

        found = dirs.load(folder)
        target = plot or folder / "layers.png"
        write_plot(found, target)
        _report(found, folder, json_output, {"plot": str(target)})
        if not json_output:
            console.print(f"Plot: {target}")


def _concept(concept: str | None, folders: list[str], csv_path: Path | None, data: str, count: int, seed: int,
             inputs: str = "abc"):
    """The concept's pieces: ABC texts, or WAV paths when the family's layers read audio."""
    from musegen_cli.steering import concepts

    if concept is not None and inputs == "audio":
        raise UserError("built-in concepts label ABC pieces; for an audio model give WAV folders "
                        "(--folder LABEL=FOLDER) or a CSV of WAV files (--csv)")
    if concept is not None:
        if concept not in BUILT_IN:
            raise UserError(f"unknown concept {concept!r}; built-in concepts: {', '.join(BUILT_IN)} "
                            "(or use --folder / --csv)")
        from musegen_cli.data.resolve import dataset_folder
        from musegen_cli.data.dataset import read_split

        records = read_split(dataset_folder(data), "train")
        return concepts.built_in(concept, records, count, seed)
    if csv_path is not None:
        return concepts.from_csv(csv_path, inputs)
    mapping: dict[str, Path] = {}
    for item in folders:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            raise UserError(f"--folder takes LABEL=FOLDER, not {item!r}")
        if not Path(path).is_dir():
            raise UserError(f"no such folder: {path}")
        mapping[label] = Path(path)
    return concepts.from_folders(mapping, count, seed, inputs)


def _score_name(task: str) -> str:
    return "accuracy" if task == "classification" else "R^2"


def _layer_table(found: Any) -> Any:
    from rich.table import Table

    metric = _score_name(found.task)
    table = Table("layer", f"RFM {metric}", f"linear {metric}", "bandwidth", "ridge", "exponent", "centre",
                  "round", "scale", title=f"{found.concept}: {', '.join(found.labels)} ({found.notes.get('pieces')} "
                  f"pieces, {found.model.get('name')}, {found.pooling} pooling)")
    best = max(found.layers, key=lambda name: found.layers[name].rfm_score)
    for name, fit in found.layers.items():
        s = fit.settings
        table.add_row(f"{name}{' *' if name == best else ''}", f"{fit.rfm_score:.3f}", f"{fit.linear_score:.3f}",
                      f"{s['bandwidth']:.3g}", f"{s['ridge']:.0e}", f"{s['exponent']:g}", "yes" if s["centre"] else "no",
                      str(s["round"]), f"{fit.activation_scale:.3g}")
    return table


def _report(found: Any, folder: Path, json_output: bool, extra: dict[str, Any] | None = None) -> None:
    """The layer table (or JSON), which way a positive strength steers, and any warning about
    scores measured on too few validation pieces."""
    from musegen_cli.steering.fit import points_to, reliability_warnings

    cautions = reliability_warnings(found)
    for caution in cautions:
        warn(caution)
    if json_output:
        emit_json({**_summary(found, folder), "points_to": points_to(found), "warnings": cautions, **(extra or {})})
        return
    print_table(_layer_table(found))
    console.print(f"A positive strength steers towards {points_to(found)}.")


def _summary(found: Any, folder: Path) -> dict[str, Any]:
    return {"folder": str(folder), "concept": found.concept, "task": found.task, "labels": found.labels,
            "model": found.model, "pooling": found.pooling, "notes": found.notes,
            "layers": {name: {"rfm": fit.rfm_score, "linear": fit.linear_score, **fit.settings,
                              "activation_scale": fit.activation_scale} for name, fit in found.layers.items()}}


def write_plot(found: Any, path: Path) -> None:
    """RFM and linear-probe validation score per layer, as a PNG (written atomically)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from musegen_cli.files import atomic_write

    names = list(found.layers)
    figure, axes = plt.subplots(figsize=(max(4.0, 0.6 * len(names) + 2), 3.2))
    axes.plot(names, [found.layers[n].rfm_score for n in names], marker="o", label="RFM")
    axes.plot(names, [found.layers[n].linear_score for n in names], marker="s", label="linear probe")
    axes.set_ylabel(f"validation {_score_name(found.task)}")
    axes.set_title(f"{found.concept} ({found.model.get('name')})")
    axes.tick_params(axis="x", rotation=45)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write(path, buffer.getvalue())
