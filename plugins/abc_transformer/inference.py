"""Using a trained abc-transformer: load a model directory, generate under conditions, score.

``load(model_dir, device)`` gives an ``AbcModel``, the loaded model of musegen's contract
(``generate`` and ``known_conditions``). ``log_prob`` sums token log-probabilities of
pieces under conditions; ``sequence_log_probs`` is the same sum with gradients and ``save``
writes an updated model directory, for preference training (``musegen dpo``).

A model imported from NotaGen or TunesFormer/EMusicGen (``checkpoint_import``) loads the
same way; its text format (``text_formats``) replaces musegen's condition lines and header
plan with the source's prompts, and ``source_generation`` samples it as the source does.
``training_log_prob`` scores pieces as the training objective does (``musegen score --logprob``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import torch

from musegen_cli.plugin import (
    GenerateRequest,
    UserError,
    collate,
    encode,
    load_weights,
    read_manifest,
    with_title,
    write_model_dir,
)

from . import conditions as cond
from . import header_plan
from .model import AbcTransformer, ModelConfig, quantize_int8
from .sampling import SamplingConfig, stream
from .text_formats import format_for

FAMILY_NAME = "abc-transformer"
#: Patches the model may spend on its own header before the plan takes over.
HEADER_PATCHES = 12
#: Bars of a piece when ``--bars`` does not set them: no end before 8 bars (about the 5th
#: percentile of the folk training data, music21's corpus cleaned: 8, median 16, 95th 28,
#: 99th 44 bars), from 32 on the piece ends at its next section end, and 64 is a hard cap.
DEFAULT_BAR_BAND = (8, 32, 64)


class AbcModel:
    """A loaded abc-transformer (eval mode, on one device) and the conditions it was trained on."""

    def __init__(self, model: AbcTransformer, condition_values: Mapping[str, Sequence[str]],
                 use_template: bool = True) -> None:
        self.model = model.eval()
        #: Apply the emotion template and header plan (``header_plan``); False asks the
        #: model with the given prompt lines only (how the benchmark measures raw control).
        self.use_template = use_template
        self.condition_values = {name: tuple(values) for name, values in condition_values.items()}
        #: Spell characters with the compiled fixed-shape step (`static_step`, `load(compile_steps=True)`).
        self.compile_steps = False

    @property
    def device(self) -> torch.device:
        return self.model.char_embed.weight.device

    @property
    def text_format(self):
        """How this model's text becomes patches (``text_formats``)."""
        return format_for(self.model.config.text_format)

    @property
    def imported(self) -> bool:
        """Whether the weights come from another project (NotaGen, TunesFormer/EMusicGen)."""
        return self.model.config.text_format != "musegen"

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
        if self.imported:
            return self.text_format.known_conditions()
        open_names = [c.name for c in cond.CONDITIONS if c.values is None]
        return {name: self.condition_values[name] for name in open_names if self.condition_values.get(name)}

    def generate(self, request: GenerateRequest) -> list[str]:
        if self.imported:
            return [text for _, text in self.stream(request)]
        texts = [""] * request.count
        for row, fragment in self.stream(request):
            texts[row] += fragment
        return [cond.strip_condition_lines(text) for text in texts]

    def stream(self, request: GenerateRequest) -> Iterator[tuple[int, str]]:
        """(piece index, text) as the text is written: first each piece's header (numbered
        X:1..n, without the condition lines), then its patches, bar by bar.

        Conditions pass through the emotion template and, without a prime, the header plan
        (``header_plan``): the model writes its header first, the plan sets its mode and
        tempo, and the music is written under the planned header. Every piece gets a title
        (`abc_titles`) and a length in the band of ``_bar_band``. An imported model yields
        each piece whole, in standard ABC (``source_generation``)."""
        if self.imported:
            from .source_generation import stream_pieces

            yield from stream_pieces(self, request)
            return
        conditions = cond.check(request.conditions, self.known_conditions())
        if self.use_template:
            conditions = header_plan.with_template(conditions)
        text = cond.prompt(conditions, request.prime)
        sampling = self._sampling(request, text)
        generator = torch.Generator(self.device).manual_seed(request.seed)
        plan = header_plan.HeaderPlan.from_conditions(conditions)
        if self.use_template and request.prime is None and not plan.empty:
            prompts = self._planned_prompts(text, request, plan, sampling, generator)
            sampling = self._sampling(request, max(prompts, key=len))
        else:
            prompts = [text] * request.count
        # Each piece's header is held back until it is complete, so that its title can name its key.
        headers = {row: cond.strip_condition_lines(prompt).split("\n", 1)[1] for row, prompt in enumerate(prompts)}
        for row in [row for row, header in headers.items() if header_plan.header_done(header)]:
            yield row, f"X:{row + 1}\n{with_title(headers.pop(row), request.conditions)}"
        for event in stream(self.model, prompts, sampling, generator, compile_steps=self.compile_steps):
            if event.row in headers:
                headers[event.row] += event.text
                if event.finish or header_plan.header_done(headers[event.row]):
                    yield event.row, f"X:{event.row + 1}\n{with_title(headers.pop(event.row), request.conditions)}"
            elif event.text:
                yield event.row, event.text

    def _sampling(self, request: GenerateRequest, prompt: str) -> SamplingConfig:
        room = self.model.config.max_patches - len(encode(prompt, self.model.config.patch_size, add_end=False))
        if room < 1:
            raise UserError(f"the prime is too long for this model ({self.model.config.max_patches} patches at most)")
        chosen = request.sampling.resolved(self.text_format.sampling_defaults)
        return SamplingConfig(
            temperature=float(chosen["temperature"]),
            top_k=int(chosen["top_k"]),
            top_p=float(chosen["top_p"]),
            **self._bar_band(request.max_bars),
            max_patches=room,
            bar_retries=int(chosen["bar_retries"]),
        )

    @staticmethod
    def _bar_band(bars: int | None) -> dict[str, int]:
        """Exactly ``bars`` bars when asked for, else ``DEFAULT_BAR_BAND``."""
        low, end, cap = (bars, bars, bars) if bars is not None else DEFAULT_BAR_BAND
        return {"min_bars": low, "end_bars": end, "max_bars": cap}

    def _planned_prompts(self, text: str, request: GenerateRequest, plan: header_plan.HeaderPlan,
                         sampling: SamplingConfig, generator: torch.Generator) -> list[str]:
        """Let the model write each piece's header, then apply the plan to it."""
        openings = [""] * request.count
        pending = set(range(request.count))
        opening = replace(sampling, max_bars=None, min_bars=None, end_bars=None,
                          max_patches=min(sampling.max_patches or 1, HEADER_PATCHES))
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


def load(model_dir: Path | str, device: torch.device | str = "cpu", precision: str = "fp32",
         compile_steps: bool = False) -> AbcModel:
    """Load a model directory written by the abc-transformer trainer, its weights in ``precision``
    (`AbcModel.set_precision`), sampling with compiled steps when ``compile_steps``."""
    path = Path(model_dir)
    manifest = read_manifest(path)
    if manifest["family"] != FAMILY_NAME:
        raise UserError(f"{path} holds a {manifest['family']!r} model, not an abc-transformer")
    try:
        config = ModelConfig(**manifest["config"]["model"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"{path}/musegen.json has no valid abc-transformer config ({exc})") from None
    try:
        model = AbcTransformer(config)
    except ValueError as exc:
        raise UserError(f"{path}/musegen.json has an invalid abc-transformer config ({exc})") from None
    try:
        model.load_saved_state(load_weights(path, "cpu"))
    except RuntimeError as exc:
        raise UserError(f"{path} holds weights that do not fit its config: {str(exc).splitlines()[0]}") from None
    loaded = AbcModel(model.to(device), manifest["config"].get("conditions", {}))
    loaded.manifest_config = manifest["config"]  # what `save` writes back
    loaded.set_precision(precision)
    loaded.compile_steps = compile_steps
    return loaded


def log_prob(model: AbcModel | Path | str, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
             batch_size: int = 16) -> list[float]:
    """Summed log-probability (nats) of each piece under its conditions.

    The prompt (``X:1`` and the condition lines) is context, not scored; the piece's lines
    after its ``X:`` line and the end patch are. A piece longer than the model's context is
    cut to it (its first ``max_patches`` patches are scored).
    """
    loaded = model if isinstance(model, AbcModel) else load(model)
    rows, starts = encoded_pieces(loaded, pieces, conditions, template=False)
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


def encoded_pieces(loaded: AbcModel, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
             template: bool) -> tuple[list[list[list[int]]], list[int]]:
    """Each piece as patches behind its prompt, and the first patch to score (after the prompt).

    With ``template`` the conditions pass through the emotion template first, so a piece is
    scored under the prompt ``generate`` wrote it after."""
    if len(pieces) != len(conditions):
        raise ValueError(f"{len(pieces)} pieces but {len(conditions)} condition sets")
    size, context = loaded.model.config.patch_size, loaded.model.config.max_patches
    rows, starts = [], []
    if loaded.imported:
        fmt = loaded.text_format
        for piece, given in zip(pieces, conditions):
            given = fmt.check_conditions(given)
            rows.append(fmt.encode(fmt.scored_text(piece, given), size, context))
            starts.append(len(fmt.encode_prompt(fmt.prompt(given, None), size)[0]))
        return rows, starts
    for piece, given in zip(pieces, conditions):
        given = header_plan.with_template(given) if template else dict(given)
        rows.append(encode(cond.with_conditions(piece, given), size)[:context])
        starts.append(len(encode(cond.prompt(given), size, add_end=False)))
    return rows, starts


def training_rows(loaded: AbcModel, pieces: Sequence[str]) -> list[list[list[int]]]:
    """Each piece as the model's training text encodes it, cut to the context: musegen's
    ``X:1`` and the tune, or an imported source's own layout (``TextFormat.scored_text``)."""
    c, fmt = loaded.model.config, loaded.text_format
    if loaded.imported:
        return [fmt.encode(fmt.scored_text(piece, {}), c.patch_size, c.max_patches) for piece in pieces]
    return [encode(cond.with_conditions(piece, {}), c.patch_size)[: c.max_patches] for piece in pieces]


def training_log_prob(model: AbcModel | Path | str, pieces: Sequence[str],
                      batch_size: int = 8) -> list[tuple[float, int]]:
    """(summed natural-log probability, characters scored) of each piece as the training
    objective scores it: every character of every patch after the begin patch, the closing
    ids and the end patch included. For an imported model the sum is the source's own mean
    loss on the piece times the characters it scored."""
    loaded = model if isinstance(model, AbcModel) else load(model)
    rows = training_rows(loaded, pieces)
    offset = loaded.model.config.spell_offset
    out: list[tuple[float, int]] = []
    with torch.inference_mode():
        for begin in range(0, len(rows), batch_size):
            ids, mask = collate(rows[begin : begin + batch_size], loaded.device)
            sums = loaded.model.log_prob(ids, mask, 1)
            chars = ((ids[:, 1:, offset:] != 0) & mask[:, 1:, None]).sum((1, 2))
            out += [(float(v), int(n)) for v, n in zip(sums, chars)]
    return out


def sequence_log_probs(model: AbcModel, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]],
                       batch_size: int = 8, template: bool | None = None) -> torch.Tensor:
    """Summed log-probability (nats) [N] of each piece, differentiable when grad is enabled.

    Scored as in ``log_prob``, except that by default (``template=None``) the conditions pass
    through the emotion template when the model samples with it: what DPO trains is then the
    probability of a sample under the prompt it was sampled from.
    """
    use = model.use_template if template is None else template
    rows, starts = encoded_pieces(model, pieces, conditions, use)
    parts = [_summed(model, rows[b : b + batch_size], starts[b : b + batch_size])
             for b in range(0, len(rows), batch_size)]
    return torch.cat(parts) if parts else torch.zeros(0, device=model.device)


def save(model: AbcModel, folder: Path, provenance: Mapping[str, object], metrics: Mapping[str, object]) -> Path:
    """Write the (updated) weights as an ordinary abc-transformer model directory."""
    config = getattr(model, "manifest_config", None) or {
        "model": asdict(model.model.config), "conditions": {k: list(v) for k, v in model.condition_values.items()},
        "condition_format": 1,
    }
    weights = {name: t.float() if t.is_floating_point() else t for name, t in model.model.saved_state().items()}
    return write_model_dir(Path(folder), family=FAMILY_NAME, config=config, state_dict=weights,
                           provenance=provenance, metrics=metrics)
