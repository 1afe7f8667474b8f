"""The glue between the Markov chain and musegen: a trainer, a sampler, and `FAMILY`.

musegen finds `FAMILY` through the entry point in pyproject.toml and calls only what is here:

- `MarkovTrainer.train(request, on_progress)` for `musegen train --family bar-markov`;
- `MarkovSampler.load(model_dir, device).generate(request)` for `musegen generate`.

Everything it uses from musegen comes from one module, `musegen_cli.plugin`: the family and
request types, the declared `Features`, the model directory (`read_manifest`, `load_weights`,
`write_model_dir`), `UserError` for one-line errors (exit code 2), the typed sampling options
with musegen's defaults, and `split_abc_tunes`. torch is imported inside the methods that
need it, so that `musegen plugins` and `musegen --help` stay fast.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musegen_cli.plugin import Condition, Features, ModelFamily, UserError, load_weights, read_manifest, write_model_dir
from musegen_markov import __version__
from musegen_markov.chain import MarkovChain
from musegen_markov.tunes import TEMPLATE_FIELDS, Tune, format_tune, parse_tune, read_tunes

if TYPE_CHECKING:
    import torch

    from musegen_cli.plugin import GenerateRequest, ProgressCallback, TrainRequest

NAME = "bar-markov"

#: Preset name -> the settings it stands for; `FAMILY.presets` shows the one-line summaries.
PRESETS: dict[str, dict[str, Any]] = {
    "debug": {"order": 1, "summary": "order 1: each bar follows from the bar before it"},
    "small": {"order": 2, "summary": "order 2: each bar follows from the two bars before it"},
}
#: Options `musegen train --set KEY=VALUE` accepts, with their defaults.
DEFAULT_OPTIONS = {"valid_fraction": 0.1, "max_bars": 128}
#: Integer columns saved to model.safetensors (see MarkovChain.to_columns).
COLUMNS = ("contexts", "context_template", "context_index", "next_index", "count")


# ----- training ---------------------------------------------------------------------------


def abc_files(data: str) -> list[Path]:
    """The .abc files that `--data` names: one file, or every .abc file under a folder."""
    path = Path(data).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc" and p.is_file())
        if not files:
            raise UserError(f"{path} holds no .abc files; {NAME} trains on ABC tunes")
        return files
    raise UserError(f"no such file or folder: {data} ({NAME} trains on a .abc file or a folder of them)")


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older ABC collections (the Essen songs) are Latin-1


def _options(request: TrainRequest) -> dict[str, Any]:
    known = {"order", *DEFAULT_OPTIONS}
    unknown = sorted(set(request.options) - known)
    if unknown:
        raise UserError(f"{NAME} has no option {unknown[0]!r}; its options: {', '.join(sorted(known))}")
    options = {"order": PRESETS[request.preset]["order"], **DEFAULT_OPTIONS, **request.options}
    order, fraction, max_bars = options["order"], options["valid_fraction"], options["max_bars"]
    if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= 8:
        raise UserError(f"order must be a whole number from 1 to 8, got {order!r}")
    if not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
        raise UserError(f"valid_fraction must be a number from 0 up to (not including) 1, got {fraction!r}")
    if not isinstance(max_bars, int) or max_bars < 1:
        raise UserError(f"max_bars must be a positive whole number, got {max_bars!r}")
    return options


class MarkovTrainer:
    """Counts bar transitions; a pass over a few thousand tunes takes about a second."""

    def train(self, request: TrainRequest, on_progress: ProgressCallback) -> Path:
        if request.preset not in PRESETS:
            raise UserError(f"unknown preset {request.preset!r}; choose one of: {', '.join(PRESETS)}")
        options = _options(request)
        files = abc_files(request.data)

        tunes: list[Tune] = []
        skipped = 0
        every = max(1, len(files) // 10)  # about ten progress lines however many files
        for number, path in enumerate(files, start=1):
            found, bad = read_tunes(read_text(path))
            tunes += found
            skipped += bad
            if number % every == 0 or number == len(files):
                on_progress({"files": f"{number}/{len(files)}", "tunes": len(tunes), "skipped": skipped})
        if not tunes:
            raise UserError(f"found no usable ABC tunes in {request.data} (each needs a K: line and bars)")

        # The seed decides which tunes are held out to check the chain on unseen music.
        random.Random(request.seed).shuffle(tunes)
        n_valid = int(len(tunes) * options["valid_fraction"])
        valid, train = tunes[:n_valid], tunes[n_valid:]

        chain = self._start_chain(request, options["order"])
        for tune in train:
            chain.add_tune(tune)
        metrics = {
            "train_tunes": len(train),
            "valid_tunes": len(valid),
            "bars": len(chain.vocabulary) - 2,
            "templates": len(chain.templates),
            "transitions": sum(len(f) for f in chain.counts.values()),
        }
        if valid:
            metrics["valid_seen"] = round(chain.seen_fraction(valid), 4)
        on_progress(metrics)

        config = {**chain.to_config(), "max_bars": options["max_bars"], "preset": request.preset}
        provenance = {
            "plugin": f"musegen-markov {__version__}",
            "data": str(request.data),
            "files": len(files),
            "skipped_tunes": skipped,
            "seed": request.seed,
            "preset": request.preset,
            "options": dict(request.options),
            "init_from": str(request.init_from) if request.init_from else None,
        }
        return write_model_dir(
            request.output,
            family=NAME,
            config=config,
            state_dict=_tensors(chain),
            provenance=provenance,
            metrics=metrics,
        )

    @staticmethod
    def _start_chain(request: TrainRequest, order: int) -> MarkovChain:
        """An empty chain, or (with --init-from) the counts of an earlier model to add to.

        `--resume` needs nothing: training is one counting pass, so it simply runs again.
        """
        if request.init_from is None:
            return MarkovChain(order)
        chain = load_chain(request.init_from)
        if "order" in request.options and chain.order != order:
            raise UserError(f"--init-from model has order {chain.order}; cannot continue it with order {order}")
        return chain


def _tensors(chain: MarkovChain) -> dict[str, torch.Tensor]:
    import torch

    columns = chain.to_columns()
    tensors = {name: torch.tensor(values, dtype=torch.int64) for name, values in columns.items()}
    tensors["contexts"] = tensors["contexts"].reshape(-1, chain.order)
    return tensors


# ----- generating -------------------------------------------------------------------------


def load_chain(model_dir: Path) -> MarkovChain:
    """The chain saved in a model directory, or a one-line UserError saying what is wrong."""
    manifest = read_manifest(model_dir)
    if manifest["family"] != NAME:
        raise UserError(f"{model_dir} holds a {manifest['family']!r} model, not a {NAME} one")
    tensors = load_weights(model_dir, "cpu")
    missing = [name for name in COLUMNS if name not in tensors]
    if missing:
        raise UserError(f"{model_dir} is not a complete {NAME} model (no {', '.join(missing)} tensor)")
    try:
        return MarkovChain.from_saved(manifest["config"], {name: tensors[name].tolist() for name in COLUMNS})
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UserError(f"{model_dir} holds a damaged {NAME} model: {exc}") from None


class MarkovSampler:
    def load(self, model_dir: Path, device: torch.device | str = "cpu") -> MarkovModel:
        # Counting needs no accelerator: the chain always lives in plain Python on the CPU.
        chain = load_chain(model_dir)
        max_bars = read_manifest(model_dir)["config"].get("max_bars", DEFAULT_OPTIONS["max_bars"])
        return MarkovModel(chain, max_bars=int(max_bars))


class MarkovModel:
    """A loaded chain that writes ABC tunes."""

    def __init__(self, chain: MarkovChain, max_bars: int = 128) -> None:
        self.chain = chain
        self.max_bars = max_bars

    def generate(self, request: GenerateRequest) -> list[str]:
        candidates = self._templates_for(request.conditions)
        prime = _parse_prime(request.prime) if request.prime else None
        chosen = request.sampling.resolved()  # what the request sets, else musegen's defaults
        sampling = {"temperature": float(chosen["temperature"]), "top_k": int(chosen["top_k"]),
                    "top_p": float(chosen["top_p"])}
        max_bars = request.max_bars or self.max_bars
        rng = random.Random(request.seed)  # one generator for the batch: same seed, same tunes
        pieces = []
        for index in range(1, request.count + 1):
            if prime is None:
                group = self.chain.pick_template(candidates, rng)
                bars = self.chain.walk(group, rng, max_bars=max_bars, **sampling)
                header = self._header(group)
                pieces.append(format_tune(index, f"{NAME} tune {index}", header, bars))
            else:
                pieces.append(self._continue(index, prime, candidates, rng, max_bars, sampling))
        return pieces

    def known_conditions(self) -> dict[str, tuple[str, ...]]:
        """The meters and keys of the training tunes: the values `generate` accepts."""
        templates = self.chain.templates
        return {
            "meter": tuple(sorted({template[0] for template in templates})),
            "key": tuple(sorted({template[2] for template in templates})),
        }

    def _header(self, group: int) -> dict[str, str]:
        return dict(zip(TEMPLATE_FIELDS, self.chain.templates[group]))

    def _templates_for(self, conditions: dict[str, str]) -> list[int]:
        """The templates allowed under `meter` and `key`; a UserError naming known values."""
        unknown = sorted(set(conditions) - {c.name for c in FAMILY.conditions})
        if unknown:  # the CLI checks names already; this guards direct callers
            raise UserError(f"{NAME} does not accept the condition {unknown[0]!r} (it accepts: key, meter)")
        meter, key = conditions.get("meter"), conditions.get("key")
        for name, value, position in (("meter", meter, 0), ("key", key, 2)):
            known = sorted({template[position] for template in self.chain.templates})
            if value is not None and value not in known:
                raise UserError(f"this {NAME} model has no tunes in {name} {value!r}; it knows: {', '.join(known)}")
        candidates = self.chain.templates_matching(meter, key)
        if not candidates:
            pairs = sorted({f"{m} in {k}" for m, _unit, k in self.chain.templates})
            raise UserError(f"this {NAME} model has no tunes in meter {meter!r} and key {key!r}; it knows: {', '.join(pairs)}")
        return candidates

    def _continue(
        self, index: int, prime: Tune, candidates: list[int], rng: random.Random, max_bars: int, sampling: dict
    ) -> str:
        """The prime's bars, then new ones: from its last bars where the chain knows them,
        otherwise from a fresh start after the prime's body."""
        same_header = [g for g in candidates if self.chain.templates[g] == prime.template]
        context = self.chain.context_of(prime.bars)
        knowing = [g for g in candidates if context is not None and self.chain.knows(g, context)]
        if knowing:
            preferred = [g for g in knowing if g in same_header]
            group = preferred[0] if preferred else self.chain.pick_template(knowing, rng)
        else:
            context = None  # start fresh after the prime
            group = same_header[0] if same_header else self.chain.pick_template(candidates, rng)
        new_bars = self.chain.walk(group, rng, context=context, max_bars=max_bars, **sampling)
        generated = self._header(group)
        header = {**generated, **prime.header}  # the prime's own fields where it has them
        title = prime.title or f"{NAME} continuation {index}"
        return format_tune(index, title, header, list(prime.bars), then=(generated, new_bars))


def _parse_prime(text: str) -> Tune:
    from musegen_cli.plugin import split_abc_tunes

    tunes = split_abc_tunes(text)
    tune = parse_tune(tunes[0], require_key=False) if tunes else None
    if tune is None or not tune.bars:
        raise UserError(f"the prime has no bars that {NAME} can continue (one voice, no key or meter changes)")
    return tune


FAMILY = ModelFamily(
    name=NAME,
    description="Order-N Markov chain over the bars of ABC tunes (a worked third-party plugin).",
    version=__version__,
    trainer=MarkovTrainer(),
    sampler=MarkovSampler(),
    conditions=(
        Condition("meter", "a meter the training tunes used, e.g. 6/8 (M: field)"),
        Condition("key", "a key the training tunes used, e.g. G or Ador (K: field)"),
    ),
    presets={name: preset["summary"] for name, preset in PRESETS.items()},
    # What a loaded chain offers beyond `generate`: ABC out, no streaming, fp32 only (the defaults).
    features=Features(output="abc"),
)
