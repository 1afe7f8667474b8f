"""The `musegen dpo` loop: sample -> score -> pair -> train -> save, then again from the new model.

Layout of a run folder `OUT`:

    OUT/run.json             the run's settings (a resumed run must match them)
    OUT/iter-N/              model N: musegen.json + model.safetensors (a normal model directory),
                             samples.jsonl and preferences.jsonl (the set it was trained on),
                             stats.json (the table row of iteration N)
    OUT/eval.json            the last model's own samples measured (the table's final row)
    OUT/report.json          the table as JSON, rewritten after every iteration

An iteration is built in `OUT/iter-N.tmp/` and renamed to `OUT/iter-N/` only when complete, so
a finished iteration is never half-written and an interrupted one leaves only a `.tmp` folder,
which the next start removes. `resume` skips finished iterations and samples from the last
saved model.

The frozen reference model of DPO (`reference_model`) is by default the run's starting model,
loaded a second time, for every iteration. `iteration` makes it the model each iteration
starts from instead, as NotaGen's CLaMP-DPO rounds do (each round's reference is the weights
it starts from). On the bundled model (`benchmarks/dpo_gain.py`, seeds 0-2, measured with 64
pieces per set and 4 pairs per step) the starting model kept validity better: every run ended
at or above its starting validity, against a 2.8-point loss on one seed with `iteration`.

Row k of the table measures the pieces iteration k sampled, i.e. the model *before* its
training (model k-1; the starting model for k = 1), with the pairs and loss of the training
that followed; the final row measures the last model's samples (same seeds as iteration 1's
would give, so rows compare like with like).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musegen_cli.alignment.dpo import DpoOptions, TrainPair, reference_log_probs, train_pairs
from musegen_cli.alignment.preferences import PreferenceSet, Sample, build_preference_set
from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

if TYPE_CHECKING:
    import torch

    from musegen_cli.alignment.rewards import Reward
    from musegen_cli.registry import ModelFamily
    from musegen_cli.scoring.similarity import SimilarityIndex

RUN_FILE = "run.json"
REPORT_FILE = "report.json"
EVAL_FILE = "eval.json"
STATS_FILE = "stats.json"
#: Seed offset between iterations (sampling and training).
ITERATION_SEED_STRIDE = 1_000_003
#: The reference models of DPO (module doc).
REFERENCE_MODELS = ("start", "iteration")
#: Settings that runs saved before they existed did not record, at the values those runs used.
UNRECORDED = {"reference_model": "start"}
#: Pieces the pairwise-similarity diversity measure looks at, at most.
DIVERSITY_PIECES = 256


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides a run's numbers; a resumed run must keep all but `iterations`."""

    model: str  # the starting model's folder
    family: str
    reward: dict[str, float]
    conditions: list[dict[str, str]]
    iterations: int = 3
    samples: int = 128  # per condition set and iteration
    top: float = 0.0625  # 8 of 128 chosen
    bottom: float = 0.0625  # and 8 rejected: the invalid pieces first (preferences module doc)
    dpo: DpoOptions = field(default_factory=DpoOptions)
    seed: int = 0
    copy_threshold: float = 0.9
    sampling: dict[str, float] = field(default_factory=dict)  # unset: the model's own, else SAMPLING_DEFAULTS
    max_bars: int | None = 16
    reference: str | None = None
    text: str | None = None
    scorer: str | None = None
    reference_model: str = "start"  # or "iteration" (module doc)

    def __post_init__(self) -> None:
        if self.reference_model not in REFERENCE_MODELS:
            raise UserError(f"--reference-model must be {' or '.join(REFERENCE_MODELS)}, "
                            f"not {self.reference_model!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunSettings:
        return cls(**{**values, "dpo": DpoOptions(**values["dpo"])})


def iteration_dir(out: Path, number: int) -> Path:
    return out / f"iter-{number}"


def finished_iterations(out: Path) -> list[int]:
    """Numbers of the complete iterations (model and stats saved), in order."""
    done = []
    for folder in out.glob("iter-*"):
        number = folder.name.removeprefix("iter-")
        if number.isdigit() and (folder / "musegen.json").is_file() and (folder / STATS_FILE).is_file():
            done.append(int(number))
    return sorted(done)


def prepare_output(out: Path, settings: RunSettings, resume: bool) -> RunSettings:
    """Check `out` against the settings (a new run, or a resume of the same run), clear what an
    interrupted iteration left, and record the settings. Returns the settings to use."""
    saved_path = out / RUN_FILE
    if saved_path.is_file():
        if not resume:
            raise UserError(f"{out} already holds a dpo run; pass --resume to continue it, or choose another -o")
        saved = UNRECORDED | json.loads(saved_path.read_text(encoding="utf-8"))
        mine = settings.to_dict()
        changed = sorted(k for k in mine if k != "iterations" and saved.get(k) != mine[k])
        if changed:
            raise UserError(f"--resume: these settings differ from the run in {out}: {', '.join(changed)}; "
                            "keep them as they were (only --iterations may change)")
    elif out.exists() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not a dpo run folder; choose another -o")
    for stale in out.glob("iter-*.tmp"):
        shutil.rmtree(stale)
    atomic_write(saved_path, json.dumps(settings.to_dict(), indent=2) + "\n")
    return settings


def sample_stats(samples: Sequence[Sample]) -> dict[str, Any]:
    """Mean reward, validity, analyzer-checked emotion accuracy and diversity of samples."""
    from musegen_cli.scoring.similarity import SimilarityIndex, music_body

    n = len(samples)
    asked = [s for s in samples if "emotion" in s.conditions]
    bodies = [music_body(s.abc) for s in samples]
    subset = [s.abc for s in samples[:DIVERSITY_PIECES]]
    index = SimilarityIndex((str(i), abc) for i, abc in enumerate(subset))
    pairwise = [float(v) for i, abc in enumerate(subset) for j, v in enumerate(index.similarities(abc)) if j > i]
    return {
        "samples": n,
        "mean_reward": sum(s.reward for s in samples) / n if n else None,
        "valid": sum(s.valid for s in samples) / n if n else None,
        "eligible": sum(s.excluded is None for s in samples) / n if n else None,
        "emotion_accuracy": (sum(s.features.quadrant == s.conditions["emotion"] for s in asked) / len(asked)
                             if asked else None),
        "distinct": len(set(bodies)) / n if n else None,
        "mean_similarity": sum(pairwise) / len(pairwise) if pairwise else None,
    }


Progress = Callable[..., Iterable[Any]]


def _quiet(items: Iterable[Any], **_: Any) -> Iterable[Any]:
    return items


@dataclass
class DpoRun:
    """One run: its folder, settings, family and reward; `run()` does the iterations."""

    out: Path
    settings: RunSettings
    family: ModelFamily
    reward: Reward
    device: torch.device | str = "cpu"
    copies: SimilarityIndex | None = None
    progress: Progress = _quiet
    on_row: Callable[[dict[str, Any]], None] = lambda row: None

    def _preferences(self, model: Any, seed: int, samples: int | None = None) -> PreferenceSet:
        s = self.settings
        return build_preference_set(model, s.conditions, samples or s.samples, seed, self.reward, top=s.top,
                                    bottom=s.bottom, copies=self.copies, copy_threshold=s.copy_threshold,
                                    sampling=s.sampling, max_bars=s.max_bars, progress=self.progress)

    def measure(self, model: Any, seed: int, samples: int | None = None) -> dict[str, Any]:
        """`sample_stats` of ``samples`` pieces per condition set (default: the run's) drawn
        from ``model`` with ``seed``. Measuring several models with one seed compares them on
        common random numbers, so the differences are the models'."""
        return sample_stats(self._preferences(model, seed, samples).samples)

    def run(self) -> dict[str, Any]:
        """Finish the run's iterations (skipping saved ones) and measure the last model."""
        s, capability = self.settings, self.family.log_probability
        done = finished_iterations(self.out)
        rows = [json.loads((iteration_dir(self.out, k) / STATS_FILE).read_text(encoding="utf-8")) for k in done]
        last = done[-1] if done else 0
        policy = self.family.sampler.load(iteration_dir(self.out, last) if last else Path(s.model), self.device)
        reference = None
        for number in range(last + 1, s.iterations + 1):
            if reference is None or s.reference_model == "iteration":
                reference = self.family.sampler.load(self._reference_folder(number), self.device)
                capability.trainable(reference).requires_grad_(False)
            row = self._iteration(number, policy, reference)
            rows.append(row)
            self.on_row(row)
            self._write_report(rows, None)
        final = self._final(policy, max(last, s.iterations))
        self.on_row(final)
        return self._write_report(rows, final)

    def _reference_folder(self, number: int) -> Path:
        """The model iteration `number` trains against, frozen (module doc)."""
        if self.settings.reference_model == "iteration" and number > 1:
            return iteration_dir(self.out, number - 1)
        return Path(self.settings.model)

    def _iteration(self, number: int, policy: Any, reference: Any) -> dict[str, Any]:
        s, capability = self.settings, self.family.log_probability
        seed = s.seed + number * ITERATION_SEED_STRIDE
        preferences = self._preferences(policy, seed)
        row = {"iteration": number, "sampled_from": f"iter-{number - 1}" if number > 1 else "start",
               **sample_stats(preferences.samples), "pairs": len(preferences.pairs)}
        if not preferences.pairs:
            eligible = sum(x.excluded is None for x in preferences.samples)
            raise UserError(
                f"iteration {number}: too few valid samples to form pairs ({eligible} of "
                f"{len(preferences.samples)} may be chosen); the {number - 1} finished iteration(s) in "
                f"{self.out} are kept; try more --samples or a larger --bottom"
            )
        used = sorted({p.chosen for p in preferences.pairs} | {p.rejected for p in preferences.pairs})
        ref = dict(zip(used, reference_log_probs(
            capability, reference, [preferences.samples[i].abc for i in used],
            [preferences.samples[i].conditions for i in used])))
        pairs = [TrainPair(preferences.samples[p.chosen].conditions, preferences.samples[p.chosen].abc,
                           preferences.samples[p.rejected].abc, ref[p.chosen], ref[p.rejected])
                 for p in preferences.pairs]
        row.update(train_pairs(capability, policy, pairs, s.dpo, seed, self.progress))
        staging = self.out / f"iter-{number}.tmp"
        if staging.exists():
            shutil.rmtree(staging)
        preferences.save(staging)
        provenance = {"command": list(sys.argv), "dpo": s.to_dict(), "iteration": number,
                      "init_from": str(iteration_dir(self.out, number - 1)) if number > 1 else s.model}
        capability.save(policy, staging, provenance, {k: v for k, v in row.items() if k != "iteration"})
        atomic_write(staging / STATS_FILE, json.dumps(row, indent=2) + "\n")
        os.replace(staging, iteration_dir(self.out, number))
        return row

    def _final(self, policy: Any, number: int) -> dict[str, Any]:
        """The last model's samples measured, reusing `eval.json` when it is for this model."""
        path = self.out / EVAL_FILE
        model = f"iter-{number}" if number else "start"
        if path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("sampled_from") == model:
                return saved
        row = {"iteration": "final", "sampled_from": model,
               **self.measure(policy, self.settings.seed + ITERATION_SEED_STRIDE)}
        atomic_write(path, json.dumps(row, indent=2) + "\n")
        return row

    def _write_report(self, rows: list[dict[str, Any]], final: dict[str, Any] | None) -> dict[str, Any]:
        report = {"settings": self.settings.to_dict(), "rows": rows, "final": final}
        atomic_write(self.out / REPORT_FILE, json.dumps(report, indent=2) + "\n")
        return report
