"""`musegen evolve`: evolutionary search over a generator's controls, scored by a listener.

Genomes (`musegen_cli.evolution.genomes`): coefficients over steering directions
(`--directions DIR`, repeatable) or, without them, a choice among condition values
(`--choose emotion,mode,...`). Fitness (`evolution.fitness`): target, text, listener (a
synthetic listener for reproducible runs), interactive (you rate in the terminal) or dynamic
(you rate every few generations; a listener model fitted to your ratings scores the rest).
Interactive sessions save every rating the moment it is given; `--resume FILE` continues.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from musegen_cli.cli.options import DeviceOption, JsonFlag, SeedOption, choose_seed, parse_assignments, prepare_device
from musegen_cli.cli.output import console, emit_json, print_table
from musegen_cli.errors import UserError

FITNESS_MODES = ("interactive", "dynamic", "listener", "target", "text", "audio")
SEARCHERS = ("ga", "cmaes", "snes", "random")  # evolution.search.SEARCHERS, without importing evotorch
DEFAULT_LISTENER = "a lively folk dance tune in a major key, happy and excited"
#: The defaults of the settings that have a flag (a --config file's values override them, flags
#: override both); population, generations and workers are `SearchSettings`' (a test checks).
DEFAULTS: dict[str, Any] = {"searcher": "ga", "fitness": "interactive", "population": 8, "generations": 5,
                            "rate_every": 2, "penalty": 1.0, "bars": 16, "workers": 0}
#: The settings only a --config file sets, with their defaults as --help states them (a test
#: checks the numbers against `SearchSettings`, `DIRECTION_BOUND` and `EmbeddingGenome`).
CONFIG_ONLY: dict[str, str] = {
    "stdev": "a quarter of the genome's range for cmaes and snes, half of it for ga",
    "tournament": "3", "crossover_rate": "0.9", "eta": "10.0", "mutation_probability": "every gene",
    "elitist": "true", "bound": "0.5 for --directions, 3.0 for --genome embedding", "duration": "8.0 seconds of audio",
}
#: Settings a --config TOML file may hold (flags given on the command line win).
TOML_KEYS = (*DEFAULTS, *CONFIG_ONLY)

EPILOG = """Examples:

  musegen evolve -o runs/evo                          # rate 8 candidates per generation in the terminal

  musegen evolve --fitness listener --searcher cmaes --generations 10 -o runs/evo-cma

  musegen evolve --directions directions/mode --directions directions/register --fitness dynamic -o runs/mine

  musegen evolve --fitness target --target my_tunes/ --config evolve.toml -o runs/like-mine

  musegen evolve --resume runs/evo/session.jsonl -o runs/evo     # continue exactly where it stopped

  printf '4\\n2\\ns\\n5\\n' | musegen evolve --population 2 --generations 2 -o runs/scripted

  musegen evolve -m models/musicgen-small --genome embedding --text "calm lofi piano" --fitness audio --target 90 -o runs/evo-audio

--config keys besides the flags' (default): """ + "; ".join(f"{k} ({v})" for k, v in CONFIG_ONLY.items()) + """.

Keys while rating: 1-5 rate, r replay, s skip, f favourite, u undo, q save and quit. A piece already rated in the session is not asked again: its rating is shown and reused. Without a terminal the keys are read one per line from stdin, or from --ratings FILE. Ray evaluates fitness in parallel with --workers N (not with a person rating)."""


def register(app: typer.Typer) -> None:
    app.command("evolve", epilog=EPILOG)(evolve_command)


def evolve_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the session, best pieces and summary.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Model name or folder.")] = "default",
    directions: Annotated[
        list[Path], typer.Option("--directions", help="Evolve strengths of these steering directions (repeat).")
    ] = [],  # noqa: B006 - Typer needs a literal default
    genome: Annotated[
        Optional[str], typer.Option("--genome", help="embedding: search the text encoder's token embeddings of --text "
                                    "(audio families; score with --fitness audio).")
    ] = None,
    choose: Annotated[
        str, typer.Option("--choose", help="Without --directions: conditions to choose values of.")
    ] = "emotion,register",
    condition: Annotated[
        list[str], typer.Option("--condition", "-c", help="Fixed condition NAME=VALUE (repeatable).")
    ] = [],  # noqa: B006
    fitness: Annotated[Optional[str], typer.Option(
        "--fitness", help=f"{', '.join(FITNESS_MODES)} (default {DEFAULTS['fitness']}).")] = None,
    interactive: Annotated[bool, typer.Option(
        "--interactive", help="Rate the candidates yourself in the terminal: the same as --fitness interactive, "
        "the default.")] = False,
    target: Annotated[Optional[str], typer.Option("--target", help="Target piece, folder, corpus:NAME or features "
                                                  "(--fitness audio: a tempo in BPM).")] = None,
    text: Annotated[Optional[str], typer.Option("--text", help="Description to evolve towards.")] = None,
    listener: Annotated[
        Optional[str], typer.Option("--listener", help="The synthetic listener's taste, as a description "
                                    f"(default {DEFAULT_LISTENER!r}).")
    ] = None,
    searcher: Annotated[Optional[str], typer.Option(
        "--searcher", help=f"ga, cmaes, snes or random (default {DEFAULTS['searcher']}).")] = None,
    population: Annotated[Optional[int], typer.Option(
        "--population", help=f"Candidates per generation (default {DEFAULTS['population']}).")] = None,
    generations: Annotated[Optional[int], typer.Option(
        "--generations", help=f"Generations to run: rounds of rating (default {DEFAULTS['generations']}).")] = None,
    rate_every: Annotated[Optional[int], typer.Option(
        "--rate-every", help=f"dynamic: rate every Nth generation (default {DEFAULTS['rate_every']}).")] = None,
    penalty: Annotated[Optional[float], typer.Option(
        "--penalty", help=f"Subtracted for invalid music (default {DEFAULTS['penalty']}).")] = None,
    bars: Annotated[Optional[int], typer.Option("--bars", help=f"Bars per candidate (default {DEFAULTS['bars']}).")] = None,
    config_file: Annotated[Optional[Path], typer.Option(
        "--config", help="TOML file of search settings (keys below; default: none).")] = None,
    scorer_path: Annotated[Optional[Path], typer.Option("--scorer", help="Scorer folder (default: bundled).")] = None,
    resume: Annotated[Optional[Path], typer.Option(
        "--resume", help="Continue this session file, with the settings it was started with (default: a new "
        "session, OUTPUT/session.jsonl).")] = None,
    ratings: Annotated[Optional[Path], typer.Option(
        "--ratings", help="Read rating keys from this file (default: the terminal, or stdin).")] = None,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", help=f"Ray actors for fitness (default {DEFAULTS['workers']}: in-process).")] = None,
    no_audio: Annotated[bool, typer.Option("--no-audio", help="Write WAVs instead of playing.")] = False,
    seed: SeedOption = None,
    device: DeviceOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Evolve a generator's controls toward what a listener (you, or a synthetic one) likes."""
    from musegen_cli.evolution.session import Session

    if interactive and fitness not in (None, "interactive"):
        raise UserError(f"--interactive means --fitness interactive; leave out one of --interactive and "
                        f"--fitness {fitness}")
    flags = {"searcher": searcher, "population": population, "generations": generations,
             "fitness": "interactive" if interactive else fitness,
             "rate_every": rate_every, "penalty": penalty, "bars": bars, "workers": workers}
    session = Session.resume(resume) if resume is not None else None
    if session is not None:
        settings = session.state().settings  # a resumed run replays exactly the settings it started with
    else:
        settings = _settings(config_file, {k: v for k, v in flags.items() if v is not None})
        settings.update(model=model, directions=[str(d) for d in directions], choose=choose, genome=genome,
                        conditions=parse_assignments(condition), target=target, text=text,
                        listener=listener, seed=choose_seed(seed))
    run = _Run(settings, output, scorer_path, prepare_device(device), ratings, no_audio)
    if run.needs_person:
        session = session or Session.start(output / "session.jsonl", settings)
        run.attach(session)
    try:
        result = run.search()
    except KeyboardInterrupt:
        where = f"; resume with --resume {session.path}" if session is not None else ""
        console.print(f"stopped{where}")
        raise typer.Exit(130) from None
    if run.rater is not None:
        run.rater.announce_replay()  # when the replay was all there was to do
    summary = run.export(result)
    if json_output:
        emit_json(summary)
        return
    print_table(run.table(result))
    console.print(f"Wrote {output} ({len(summary['files'])} files).")


def _settings(config_file: Path | None, flags: dict[str, Any]) -> dict[str, Any]:
    """Defaults, then the TOML file, then flags."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    settings: dict[str, Any] = {**DEFAULTS, "duration": 8.0}
    if config_file is not None:
        try:
            loaded = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"cannot read {config_file}: {exc}") from None
        unknown = sorted(set(loaded) - set(TOML_KEYS))
        if unknown:
            raise UserError(f"{config_file}: unknown setting {unknown[0]!r}; known: {', '.join(TOML_KEYS)}")
        settings.update(loaded)
    settings.update(flags)
    if settings["fitness"] not in FITNESS_MODES:
        raise UserError(f"unknown fitness {settings['fitness']!r}; choose one of {', '.join(FITNESS_MODES)}")
    if settings["searcher"] not in SEARCHERS:
        raise UserError(f"unknown searcher {settings['searcher']!r}; choose one of {', '.join(SEARCHERS)}")
    return settings


class _Run:
    """One evolve run: model, genome, fitness and searcher built from the settings."""

    def __init__(self, settings: dict[str, Any], output: Path, scorer_path: Path | None, device: Any,
                 ratings: Path | None, no_audio: bool) -> None:
        from musegen_cli.models import resolve_model
        from musegen_cli.registry import Capability, get_registry

        self.settings, self.output, self.ratings, self.no_audio = settings, output, ratings, no_audio
        mode = settings["fitness"]
        self.needs_person = mode == "interactive" or (mode == "dynamic" and not settings.get("listener"))
        if self.needs_person and settings.get("workers"):
            raise UserError("--workers evaluates fitness on Ray actors, which cannot ask a person; "
                            "use them with the target, text or listener fitness")
        registry = get_registry()
        capability = Capability.LAYERS if settings["directions"] else Capability.CONDITIONS
        if settings.get("genome") == "embedding":
            capability = Capability.CONDITIONING_VECTOR
        elif settings.get("genome") is not None:
            raise UserError(f"unknown genome {settings['genome']!r}; the one to name is embedding "
                            "(--directions and --choose pick the others)")
        if not registry.with_capability(capability):
            registry.require("evolve", capability=capability)  # the plain "no family supports evolve" error
        self.info = resolve_model(settings["model"], registry)
        self.family = registry.require("evolve", self.info.family, capability=capability)
        self.model = self.family.sampler.load(self.info.path, device)
        self.audio = self.family.features.output == "audio"
        if self.audio and settings["fitness"] != "audio":
            raise UserError("audio candidates are scored with --fitness audio (artifact penalty, --target tempo); "
                            "the other fitness modes score symbolic music")
        self.genome = self._genome()
        from musegen_cli.scoring.scorer import load_scorer

        self.scorer = None if self.audio else load_scorer(scorer_path)  # audio is measured, not embedded
        self.rater: Any = None
        self.session: Any = None

    def _genome(self) -> Any:
        from musegen_cli.evolution.genomes import DIRECTION_BOUND, ConditionGenome, DirectionGenome

        fixed = dict(self.settings.get("conditions") or {})
        if self.settings.get("genome") == "embedding":
            from musegen_cli.evolution.genomes import EmbeddingGenome

            base = self.family.conditioning_vector.initial(self.model, self.settings.get("text") or "")
            return EmbeddingGenome(base, bound=float(self.settings.get("bound", 3.0)), conditions=fixed)
        if self.settings["directions"]:
            from musegen_cli.model_dir import weights_hash
            from musegen_cli.steering import directions as dirs

            found = [dirs.load(Path(folder)) for folder in self.settings["directions"]]
            model_hash = weights_hash(self.info.path)
            for item in found:
                item.check_model(model_hash)
            return DirectionGenome(found, bound=float(self.settings.get("bound", DIRECTION_BOUND)), conditions=fixed)
        declared = {c.name: c.values for c in self.family.conditions if c.values}
        names = [n.strip() for n in str(self.settings["choose"]).split(",") if n.strip()]
        unknown = [n for n in names if n not in declared]
        if unknown:
            raise UserError(f"cannot choose {unknown[0]!r}: the {self.family.name} conditions with fixed values "
                            f"are {', '.join(declared)}")
        return ConditionGenome({n: declared[n] for n in names if n not in fixed}, fixed=fixed)

    def attach(self, session: Any) -> None:
        """A person rates: keys from --ratings, the terminal, or stdin; answers go to ``session``."""
        from musegen_cli.evolution.person import Person
        from musegen_cli.evolution.rater import LineKeys, Player, default_keys

        self.session = session
        keys = default_keys()
        if self.ratings is not None:
            try:
                keys = LineKeys(self.ratings.open(encoding="utf-8"))
            except OSError as exc:
                raise UserError(f"cannot read {self.ratings}: {exc.strerror or exc}") from None
        player = Player(self.output / "audio", console.print, audio=not self.no_audio)
        self.rater = Person(session, session.state(), keys, player, console.print, int(self.settings["generations"]))

    def _fitness(self) -> Any:
        from musegen_cli.evolution.fitness import Fitness, SyntheticListener
        from musegen_cli.scoring.reference import reference_from_spec

        mode, s = self.settings["fitness"], self.settings
        if mode == "audio" or self.audio:
            return _AudioFitness(_tempo(s.get("target")))
        point = None
        if mode == "target":
            if not s.get("target"):
                raise UserError("the target fitness needs --target (a piece, folder, corpus:NAME or feature file)")
            point = reference_from_spec(s["target"], self.scorer).centroid
        elif mode == "text":
            if not s.get("text"):
                raise UserError("the text fitness needs --text DESCRIPTION")
            point = self.scorer.embed_texts([s["text"]])[0]
        elif mode == "listener" or (mode == "dynamic" and s.get("listener")):
            point = self.scorer.embed_texts([s.get("listener") or DEFAULT_LISTENER])[0]
        rater = self.rater
        if mode == "dynamic" and rater is None:
            rater = SyntheticListener(point)
        return Fitness(mode, self.scorer, point=point if mode != "dynamic" else None, rater=rater,
                       rate_every=int(s["rate_every"]), penalty=float(s["penalty"]))

    def generate(self, controls: Any, seed: int) -> str:
        from musegen_cli.contract import GenerateRequest
        from musegen_cli.steering.specs import steered

        # sampling: musegen's defaults (`SAMPLING_DEFAULTS`), or the model's own where its format has them
        request = GenerateRequest(conditions=controls.conditions, count=1, seed=seed, max_bars=int(self.settings["bars"]))
        if controls.embedding is not None or self.audio:
            return self._generate_audio(controls, request)
        with steered(self.family, self.model, controls.steering, seed):
            try:
                return self.model.generate(request)[0]
            except UserError as exc:  # e.g. chosen conditions that contradict each other
                return f"% not generated: {exc}\n"  # a candidate that is not music: it gets the penalty

    def _generate_audio(self, controls: Any, request: Any) -> str:
        """Audio candidates are WAV files under OUTPUT/audio; the candidate's piece is the path."""
        from dataclasses import replace

        from musegen_cli.files import atomic_write

        request = replace(request, sampling=replace(request.sampling, duration=float(self.settings.get("duration", 8.0))))
        if controls.embedding is not None:
            data = self.family.conditioning_vector.generate(self.model, controls.embedding, request)[0]
        else:
            data = self.model.generate(request)[0]
        return str(atomic_write(self.output / "audio" / f"candidate-{request.seed}.wav", data))

    def search(self) -> Any:
        import torch

        from musegen_cli.evolution.person import StopEvolution
        from musegen_cli.evolution.search import SearchSettings, make_problem, make_searcher, run_search

        s = self.settings
        search = SearchSettings(**{k: s[k] for k in ("population", "generations", "stdev", "tournament",
                                                     "crossover_rate", "eta", "mutation_probability", "elitist",
                                                     "workers") if k in s})
        torch.manual_seed(int(s["seed"]))
        self.problem = make_problem(self.genome, self.generate, self._fitness(), int(s["seed"]), workers=search.workers)
        searcher = make_searcher(s["searcher"], self.problem, search)
        self.stopped = False

        def report(summary: Any) -> None:
            console.print(f"generation {summary.generation + 1}/{search.generations}: best {summary.best:.3f}, "
                          f"mean {summary.mean:.3f}, best so far {summary.best_so_far:.3f} "
                          f"({summary.evaluations} evaluations)")

        try:
            return run_search(searcher, self.problem, search.generations, report)
        except StopEvolution:
            from musegen_cli.evolution.search import session_result

            self.stopped = True
            console.print(f"saved; continue with --resume {self.session.path}")
            return session_result(self.session.state())  # every rating given, the replayed ones included

    def export(self, result: Any) -> dict[str, Any]:
        """Best pieces and favourites as ABC and MIDI, and summary.json; all written atomically."""
        import json

        import torch

        from musegen_cli.evolution.genomes import candidate_seed
        from musegen_cli.files import atomic_write
        from musegen_cli.generation import write_piece

        files: list[str] = []
        chosen = [(f"best-{rank}", genome) for rank, (_, genome) in enumerate(result.best[:3], start=1)]
        if self.session is not None:
            state = self.session.state()
            chosen += [(f"favourite-g{g + 1}-c{c + 1}", state.records[(g, c)]["genome"])
                       for g, c in state.favourites if (g, c) in state.records]
        for name, genome in chosen:
            values = torch.tensor(genome)
            abc = self.generate(self.genome.decode(values), candidate_seed(int(self.settings["seed"])))
            if self.audio:  # the piece is a WAV file's path
                files.append(str(atomic_write(self.output / f"{name}.wav", Path(abc).read_bytes())))
                continue
            written, _problems = write_piece(abc, self.output / name, ["abc", "midi"])
            files += [str(p) for p in written]
        summary = {
            "settings": self.settings,
            "stopped_early": self.stopped,
            "replayed": self.rater.replayed if self.rater is not None else 0,
            "generations": [vars(s) for s in result.summaries],
            "best": [{"fitness": f, "genome": g, "controls": self.genome.decode(torch.tensor(g)).describe()}
                     for f, g in result.best],
            "files": files,
        }
        atomic_write(self.output / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
        return summary

    def table(self, result: Any) -> Any:
        from rich.table import Table

        table = Table("generation", "evaluations", "best", "mean", "best so far",
                      title=f"evolve: {self.settings['searcher']}, {self.settings['fitness']} fitness, "
                      f"{self.info.name}")
        for s in result.summaries:
            table.add_row(str(s.generation + 1), str(s.evaluations), f"{s.best:.3f}", f"{s.mean:.3f}",
                          f"{s.best_so_far:.3f}")
        return table


def _tempo(target: str | None) -> float | None:
    if target is None:
        return None
    try:
        return float(target)
    except ValueError:
        raise UserError(f"--fitness audio takes --target as a tempo in BPM, not {target!r}") from None


class _AudioFitness:
    """Scores audio candidates (their piece is a WAV path) with `analysis.audio.quality`:
    1 minus the artifact penalty, minus the distance from the target tempo in octaves.
    The symbolic fitness modes (listener, target, text) do not hear audio yet."""

    def __init__(self, target_bpm: float | None) -> None:
        self.target_bpm = target_bpm

    def score(self, candidates: Any) -> list[float]:
        from musegen_cli.analysis.audio import quality
        from musegen_cli.analysis.wav import read_wav

        for candidate in candidates:
            candidate.fitness = quality(*read_wav(Path(candidate.abc)), target_bpm=self.target_bpm)
        return [candidate.fitness for candidate in candidates]
