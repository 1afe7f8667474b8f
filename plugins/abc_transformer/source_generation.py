"""Generating with an imported NotaGen or TunesFormer/EMusicGen model, as its source does.

Conditions become the source's prompt lines (`text_formats`), sampling uses the source's
defaults and filter order, and the batched, KV-cached sampler of ``sampling`` writes the
pieces. A NotaGen piece that fills the patch context goes on as NotaGen's streaming
inference does: the sampler restarts from the metadata and the later half of the body lines
written so far, and the text grows on. Each piece is handed over whole, as standard ABC
(``TextFormat.to_standard``: prompt lines, stream prefixes and control codes removed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from musegen_cli.plugin import GenerateRequest, UserError, ends_bar

from .sampling import SamplingConfig, stream

if TYPE_CHECKING:
    from .inference import AbcModel

#: NotaGen gives a piece up past this many characters (its inference's limit).
MAX_CHARS = 102400


def sampling_config(
    loaded: AbcModel, request: GenerateRequest, prompt: str, max_bars: int | None = None, max_chars: int | None = None
) -> SamplingConfig:
    """The request's sampling settings over the format's own defaults; no bar retries (the
    sources have none, and their bars hold several voices)."""
    fmt, c = loaded.text_format, loaded.model.config
    room = c.max_patches - len(fmt.encode_prompt(prompt, c.patch_size)[0])
    if room < 1:
        raise UserError(f"the prime is too long for this model ({c.max_patches} patches at most)")
    settings = request.sampling.resolved(fmt.sampling_defaults)
    return SamplingConfig(
        temperature=float(settings["temperature"]),
        top_k=int(settings["top_k"]),
        top_p=float(settings["top_p"]),
        max_bars=max_bars,
        max_chars=max_chars,
        max_patches=room,
        filter_order=fmt.filter_order,
    )


def generate_texts(loaded: AbcModel, request: GenerateRequest) -> list[str]:
    """Each piece's whole text in the source's format, prompt included."""
    fmt = loaded.text_format
    prompt = fmt.prompt(fmt.check_conditions(request.conditions), request.prime, request.max_bars)
    generator = torch.Generator(loaded.device).manual_seed(request.seed)
    texts, bars, finish = [prompt] * request.count, [0] * request.count, [""] * request.count
    config = sampling_config(loaded, request, prompt, request.max_bars)
    _run(loaded, [prompt] * request.count, list(range(request.count)), config, generator, texts, bars, finish)
    for row in range(request.count):  # continue the pieces that filled the context
        while getattr(fmt, "streams", False) and finish[row] == "length" and len(texts[row]) < MAX_CHARS:
            left = None if request.max_bars is None else request.max_bars - bars[row]
            restart = fmt.continuation(texts[row])
            if restart is None or (left is not None and left < 1) or not _fits(loaded, restart):
                break  # a restart that fills the context itself (one endless line) cannot go on
            config = sampling_config(loaded, request, restart, left, MAX_CHARS - len(texts[row]))
            _run(loaded, [restart], [row], config, generator, texts, bars, finish)
    return texts


def _fits(loaded: AbcModel, text: str) -> bool:
    c = loaded.model.config
    return len(loaded.text_format.encode_prompt(text, c.patch_size)[0]) < c.max_patches


def _run(
    loaded: AbcModel,
    prompts: list[str],
    rows: list[int],
    config: SamplingConfig,
    generator: torch.Generator,
    texts: list[str],
    bars: list[int],
    finish: list[str],
) -> None:
    for event in stream(loaded.model, prompts, config, generator, compile_steps=loaded.compile_steps):
        row = rows[event.row]
        texts[row] += event.text
        bars[row] += ends_bar(event.text)
        if event.finish:
            finish[row] = event.finish


def stream_pieces(loaded: AbcModel, request: GenerateRequest) -> Iterator[tuple[int, str]]:
    """(piece index, standard ABC of the whole piece), once per piece."""
    for row, text in enumerate(generate_texts(loaded, request)):
        yield row, loaded.text_format.to_standard(text)
