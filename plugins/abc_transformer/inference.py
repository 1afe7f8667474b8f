"""Using a trained abc-transformer: load a model directory, generate under conditions, score.

``load(model_dir, device)`` gives an ``AbcModel``, the loaded model of musegen's contract
(``generate`` and ``known_conditions``). ``log_prob`` sums token log-probabilities of
pieces under conditions, for preference training (DPO).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from musegen_cli.contract import GenerateRequest
from musegen_cli.errors import UserError
from musegen_cli.model_dir import load_weights, read_manifest
from musegen_cli.notation.abc_patches import PAD, encode

from . import conditions as cond
from . import header_plan
from .model import AbcTransformer, ModelConfig, quantize_int8
from .sampling import SamplingConfig, stream

FAMILY_NAME = "abc-transformer"
#: Patches the model may spend on its own header before the plan takes over.
HEADER_PATCHES = 12


class AbcModel:
    """A loaded abc-transformer (eval mode, on one device) and the conditions it was trained on."""

    def __init__(self, model: AbcTransformer, condition_values: Mapping[str, Sequence[str]],
                 use_template: bool = True) -> None:
        self.model = model.eval()
        #: Apply the emotion template and header plan (``header_plan``); False asks the
        #: model with the given prompt lines only (how the benchmark measures raw control).
        self.use_template = use_template
        self.condition_values = {name: tuple(values) for name, values in condition_values.items()}

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
        for event in stream(self.model, prompts, sampling, generator):
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
    return AbcModel(model.to(device), manifest["config"].get("conditions", {}))


def log_prob(model: AbcModel | Path | str, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
             batch_size: int = 16) -> list[float]:
    """Summed log-probability (nats) of each piece under its conditions.

    The prompt (``X:1`` and the condition lines) is context, not scored; the piece's lines
    after its ``X:`` line and the end patch are. A piece longer than the model's context is
    cut to it (its first ``max_patches`` patches are scored).
    """
    loaded = model if isinstance(model, AbcModel) else load(model)
    if len(pieces) != len(conditions):
        raise ValueError(f"{len(pieces)} pieces but {len(conditions)} condition sets")
    net, size, context = loaded.model, loaded.model.config.patch_size, loaded.model.config.max_patches
    rows, starts = [], []
    for piece, given in zip(pieces, conditions):
        prefix = cond.prompt(given)
        rows.append(encode(cond.with_conditions(piece, given), size)[:context])
        starts.append(len(encode(prefix, size, add_end=False)))
    scores: list[float] = [0.0] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            longest = max(len(rows[i]) for i in chunk)
            ids = torch.full((len(chunk), longest, size), PAD, dtype=torch.long)
            mask = torch.zeros(len(chunk), longest, dtype=torch.bool)
            for j, i in enumerate(chunk):
                ids[j, : len(rows[i])] = torch.tensor(rows[i])
                mask[j, : len(rows[i])] = True
            start = torch.tensor([starts[i] for i in chunk], device=loaded.device)
            values = net.log_prob(ids.to(loaded.device), mask.to(loaded.device), start)
            for j, i in enumerate(chunk):
                scores[i] = float(values[j])
    return scores
