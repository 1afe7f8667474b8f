"""Using a trained abc-transformer: load a model directory, generate under conditions, score.

``load(model_dir, device)`` gives an ``AbcModel``, the loaded model of musegen's contract
(``generate`` and ``known_conditions``). ``log_prob`` sums token log-probabilities of
pieces under conditions; ``sequence_log_probs`` is the same sum with gradients and ``save``
writes an updated model directory, for preference training (``musegen dpo``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import torch

from musegen_cli.contract import GenerateRequest
from musegen_cli.errors import UserError
from musegen_cli.model_dir import load_weights, read_manifest, write_model_dir
from musegen_cli.notation.abc_patches import encode
from musegen_cli.notation.patch_batches import collate

from . import conditions as cond
from . import header_plan
from .model import AbcTransformer, ModelConfig, quantize_int8
from .sampling import SamplingConfig, stream

FAMILY_NAME = "abc-transformer"
#: Patches the model may spend on its own header before the plan takes over.
HEADER_PATCHES = 12
#: Tries at a bar that does not fit the meter before the last one stands (`SamplingConfig`).
DEFAULT_BAR_RETRIES = 8


class AbcModel:
    """A loaded abc-transformer (eval mode, on one device) and the conditions it was trained on."""

    def __init__(self, model: AbcTransformer, condition_values: Mapping[str, Sequence[str]],
                 use_template: bool = True) -> None:
        self.model = model.eval()
        #: Apply the emotion template and header plan (``header_plan``); False asks the
        #: model with the given prompt lines only (how the benchmark measures raw control).
        self.use_template = use_template
        self.condition_values = {name: tuple(values) for name, values in condition_values.items()}
        #: Spell characters with the compiled fixed-shape step (`static_step`, `--compile`).
        self.compile_steps = False

    @property
    def device(self) -> torch.device:
        return self.model.char_embed.weight.device

    def set_precision(self, precision: str) -> None:
        """Sample with bfloat16 weights, or int8 linear layers (CPU only: dynamic
        quantization), instead of float32; outputs differ slightly from float32's."""
        if precision == "bf16":
            self.model = self.model.to(torch.bfloat16)
        elif precision == "int8":
            if self.device.type != "cpu":
                raise UserError(f"int8 weights run on the CPU only; on {self.device.type} use --precision bf16")
            self.model = quantize_int8(self.model)
        elif precision != "fp32":
            raise UserError(f"unknown precision {precision!r}; valid values: fp32, bf16, int8")

    def known_conditions(self) -> dict[str, tuple[str, ...]]:
        """Values seen in training for the conditions declared without a fixed vocabulary
        (a condition the training data never had is left out)."""
        open_names = [c.name for c in cond.CONDITIONS if c.values is None]
        return {name: self.condition_values[name] for name in open_names if self.condition_values.get(name)}

    def generate(self, request: GenerateRequest) -> list[str]:
        texts = [""] * request.count
        for row, fragment in self.stream(request):
            texts[row] += fragment
        return [cond.strip_condition_lines(text) for text in texts]

    def stream(self, request: GenerateRequest) -> Iterator[tuple[int, str]]:
        """(piece index, text) as the text is written: first each piece's header (numbered
        X:1..n, without the condition lines), then its patches, bar by bar.

        Conditions pass through the emotion template and, without a prime, the header plan
        (``header_plan``): the model writes its header first, the plan sets its mode and
        tempo, and the music is written under the planned header."""
        conditions = cond.check(request.conditions, self.known_conditions())
        if self.use_template:
            conditions = cond.check(header_plan.with_template(conditions), self.known_conditions())
        text = cond.prompt(conditions, request.prime)
        sampling = self._sampling(request, text)
        generator = torch.Generator(self.device).manual_seed(request.seed)
        plan = header_plan.HeaderPlan.from_conditions(conditions)
        if self.use_template and request.prime is None and not plan.empty:
            prompts = self._planned_prompts(text, request, plan, sampling, generator)
            sampling = self._sampling(request, max(prompts, key=len))
        else:
            prompts = [text] * request.count
        for row, prompt in enumerate(prompts):
            header = cond.strip_condition_lines(prompt).split("\n", 1)[1]
            yield row, f"X:{row + 1}\n{header}"
        for event in stream(self.model, prompts, sampling, generator, compile_steps=self.compile_steps):
            if event.text:
                yield event.row, event.text

    def _sampling(self, request: GenerateRequest, prompt: str) -> SamplingConfig:
        room = self.model.config.max_patches - len(encode(prompt, self.model.config.patch_size, add_end=False))
        if room < 1:
            raise UserError(f"the prime is too long for this model ({self.model.config.max_patches} patches at most)")
        return SamplingConfig(
            temperature=float(request.sampling.get("temperature", 1.0)),
            top_k=int(request.sampling.get("top_k", 0)),
            top_p=float(request.sampling.get("top_p", 1.0)),
            max_bars=request.max_bars,
            max_patches=room,
            bar_retries=int(request.sampling.get("bar_retries", DEFAULT_BAR_RETRIES)),
        )

    def _planned_prompts(self, text: str, request: GenerateRequest, plan: header_plan.HeaderPlan,
                         sampling: SamplingConfig, generator: torch.Generator) -> list[str]:
        """Let the model write each piece's header, then apply the plan to it."""
        openings = [""] * request.count
        pending = set(range(request.count))
        opening = replace(sampling, max_bars=None, max_patches=min(sampling.max_patches or 1, HEADER_PATCHES))
        for event in stream(self.model, [text] * request.count, opening, generator):
            if event.row in pending:
                openings[event.row] += event.text
                if event.finish or header_plan.header_done(openings[event.row]):
                    pending.discard(event.row)
            if not pending:
                break
        return [
            text + header_plan.apply(own, plan, random.Random(f"{request.seed}:{row}"))
            for row, own in enumerate(openings)
        ]


def load(model_dir: Path | str, device: torch.device | str = "cpu") -> AbcModel:
    """Load a model directory written by the abc-transformer trainer."""
    path = Path(model_dir)
    manifest = read_manifest(path)
    if manifest["family"] != FAMILY_NAME:
        raise UserError(f"{path} holds a {manifest['family']!r} model, not an abc-transformer")
    try:
        config = ModelConfig(**manifest["config"]["model"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"{path}/musegen.json has no valid abc-transformer config ({exc})") from None
    model = AbcTransformer(config)
    try:
        model.load_state_dict(load_weights(path, "cpu"))
    except RuntimeError as exc:
        raise UserError(f"{path} holds weights that do not fit its config: {str(exc).splitlines()[0]}") from None
    loaded = AbcModel(model.to(device), manifest["config"].get("conditions", {}))
    loaded.manifest_config = manifest["config"]  # what `save` writes back
    return loaded


def log_prob(model: AbcModel | Path | str, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
             batch_size: int = 16) -> list[float]:
    """Summed log-probability (nats) of each piece under its conditions.

    The prompt (``X:1`` and the condition lines) is context, not scored; the piece's lines
    after its ``X:`` line and the end patch are. A piece longer than the model's context is
    cut to it (its first ``max_patches`` patches are scored).
    """
    loaded = model if isinstance(model, AbcModel) else load(model)
    rows, starts = _encoded(loaded, pieces, conditions, template=False)
    scores: list[float] = [0.0] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            values = _summed(loaded, [rows[i] for i in chunk], [starts[i] for i in chunk])
            for j, i in enumerate(chunk):
                scores[i] = float(values[j])
    return scores


def _summed(loaded: AbcModel, rows: list[list[list[int]]], starts: list[int]) -> torch.Tensor:
    """Summed log-probabilities [B] of one batch of encoded pieces, scored from ``starts``."""
    ids, mask = collate(rows, loaded.device)
    return loaded.model.log_prob(ids, mask, torch.tensor(starts, device=loaded.device))


def _encoded(loaded: AbcModel, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
             template: bool) -> tuple[list[list[list[int]]], list[int]]:
    """Each piece as patches behind its prompt, and the first patch to score (after the prompt).

    With ``template`` the conditions pass through the emotion template first, so a piece is
    scored under the prompt ``generate`` wrote it after."""
    if len(pieces) != len(conditions):
        raise ValueError(f"{len(pieces)} pieces but {len(conditions)} condition sets")
    size, context = loaded.model.config.patch_size, loaded.model.config.max_patches
    rows, starts = [], []
    for piece, given in zip(pieces, conditions):
        given = header_plan.with_template(given) if template else dict(given)
        rows.append(encode(cond.with_conditions(piece, given), size)[:context])
        starts.append(len(encode(cond.prompt(given), size, add_end=False)))
    return rows, starts


def sequence_log_probs(model: AbcModel, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
                       batch_size: int = 8, template: bool | None = None) -> torch.Tensor:
    """Summed log-probability (nats) [N] of each piece, differentiable when grad is enabled.

    Scored as in ``log_prob``, except that by default (``template=None``) the conditions pass
    through the emotion template when the model samples with it: what DPO trains is then the
    probability of a sample under the prompt it was sampled from.
    """
    use = model.use_template if template is None else template
    rows, starts = _encoded(model, pieces, conditions, use)
    parts = [_summed(model, rows[b : b + batch_size], starts[b : b + batch_size])
             for b in range(0, len(rows), batch_size)]
    return torch.cat(parts) if parts else torch.zeros(0, device=model.device)


def save(model: AbcModel, folder: Path, provenance: Mapping[str, object], metrics: Mapping[str, object]) -> Path:
    """Write the (updated) weights as an ordinary abc-transformer model directory."""
    config = getattr(model, "manifest_config", None) or {
        "model": asdict(model.model.config), "conditions": {k: list(v) for k, v in model.condition_values.items()},
        "condition_format": 1,
    }
    weights = {name: t.float() if t.is_floating_point() else t for name, t in model.model.state_dict().items()}
    return write_model_dir(Path(folder), family=FAMILY_NAME, config=config, state_dict=weights,
                           provenance=provenance, metrics=metrics)
