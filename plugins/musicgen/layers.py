"""The layers capability: read MusicGen's decoder over audio clips, and add to it while it writes.

Layers are the decoder's transformer layers, ``decoder.0`` ... ``decoder.{n-1}``; a layer's
activation is its output, the residual stream after it. ``capture`` encodes each clip (a
WAV file) to EnCodec codes, lays them out in MusicGen's delay pattern (codebook k shifted
by k frames) behind the start token, runs the decoder teacher-forced under the clip's
``text`` condition (empty by default), and pools every layer over the positions: the mean,
or the last one. ``steer`` adds vectors to layer outputs during generation; the step passed
to the callback is the audio frame being written (50 per second for the released models),
so the steering core's schedules count frames.

transformers 5.x decoder layers return a tensor, 4.x a tuple whose first item is the
hidden state: both hooks handle either.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from musegen_cli.plugin import capture_conditions, choose_layers, read_wav

from .inference import MusicgenModel

#: ``add(layer name, step) -> vector [hidden] or None`` (None adds nothing).
Steering = Callable[[str, int], Tensor | None]


def layer_names(model: MusicgenModel) -> list[str]:
    """Every decoder layer, shallow to deep."""
    return [f"decoder.{i}" for i in range(len(_decoder(model).layers))]


def _decoder(model: MusicgenModel) -> nn.Module:
    return model.model.decoder.model.decoder


def _check(model: MusicgenModel, layers: Sequence[str] | None) -> list[str]:
    return choose_layers(layer_names(model), layers)


def hidden_of(output: Any) -> Tensor:
    """A layer's hidden state, whether it returned a tensor (5.x) or a tuple (4.x)."""
    return output[0] if isinstance(output, tuple) else output


def with_added(output: Any, vector: Tensor) -> Any:
    """The layer's output with ``vector`` added to its hidden state, in the same form."""
    hidden = hidden_of(output)
    moved = hidden + vector.to(device=hidden.device, dtype=hidden.dtype)
    return (moved, *output[1:]) if isinstance(output, tuple) else moved


def clip_samples(path: str | Path, sample_rate: int, longest: float) -> np.ndarray:
    """A WAV file as mono samples at ``sample_rate`` (linear resampling), cut to ``longest`` s."""
    samples, rate = read_wav(Path(path))
    if rate != sample_rate and len(samples) > 1:
        count = max(1, round(len(samples) * sample_rate / rate))
        samples = np.interp(np.linspace(0, len(samples) - 1, count), np.arange(len(samples)), samples)
    return np.asarray(samples[: int(longest * sample_rate)], dtype=np.float32)


def delayed_codes(model: MusicgenModel, samples: np.ndarray) -> Tensor:
    """Decoder input ids [codebooks, 1 + frames + codebooks - 1] of one clip: the start token,
    then the clip's EnCodec codes in the delay pattern, padded with the pad token."""
    net = model.model
    values = torch.from_numpy(samples).to(model.device, net.audio_encoder.dtype)[None, None]
    if net.config.decoder.audio_channels == 2:
        values = values.expand(1, 2, -1)
    codes = net.audio_encoder.encode(values).audio_codes[0, 0]  # [codebooks, frames]
    count, frames = net.decoder.num_codebooks, codes.shape[-1]
    if codes.shape[0] != count:  # mono codes for a stereo decoder: one stream per channel
        codes = codes.repeat_interleave(count // codes.shape[0], dim=0)
    pad = int(net.generation_config.pad_token_id)
    ids = torch.full((count, frames + count), pad, dtype=torch.long, device=model.device)
    ids[:, 0] = int(net.generation_config.decoder_start_token_id)
    for book in range(count):
        ids[book, 1 + book : 1 + book + frames] = codes[book]
    return ids


def capture(model: MusicgenModel, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]] | None = None,
            pooling: Literal["mean", "last"] = "mean", layers: Sequence[str] | None = None,
            longest: float = 30.0) -> dict[str, Tensor]:
    """Pooled activations {layer: [N, hidden] float32 on the CPU} of WAV files ``pieces``."""
    given = capture_conditions(pieces, conditions, pooling)
    wanted = _check(model, layers)
    decoder = _decoder(model)
    limit = (model.model.decoder.config.max_position_embeddings - model.model.decoder.num_codebooks) / model.frame_rate
    pooled: dict[str, list[Tensor]] = {name: [] for name in wanted}
    for piece, condition in zip(pieces, given):
        samples = clip_samples(piece, model.sample_rate, min(longest, limit))
        seen: dict[str, Tensor] = {}
        hooks = [decoder.layers[int(name.split(".")[1])].register_forward_hook(_recorder(seen, name))
                 for name in wanted]
        try:
            with torch.inference_mode():
                ids = delayed_codes(model, samples)
                text_ids, mask = model.tokens([str(condition.get("text", ""))])
                model.model(input_ids=text_ids, attention_mask=mask, decoder_input_ids=ids, use_cache=False)
        finally:
            for hook in hooks:
                hook.remove()
        for name in wanted:
            states = seen[name][0].float()
            pooled[name].append((states[-1] if pooling == "last" else states.mean(0)).cpu()[None])
    return {name: torch.cat(parts) for name, parts in pooled.items()}


def _recorder(store: dict[str, Tensor], name: str):
    def hook(_module: nn.Module, _inputs: tuple, output: Any) -> None:
        store[name] = hidden_of(output).detach()

    return hook


def adder(name: str, add: Steering, step: list[int]):
    """A forward hook adding ``add(name, step)`` to a layer's output (tensor or tuple)."""

    def hook(_module: nn.Module, _inputs: tuple, output: Any) -> Any:
        vector = add(name, step[0])
        return None if vector is None else with_added(output, vector)

    return hook


@contextlib.contextmanager
def steer(model: MusicgenModel, add: Steering, layers: Sequence[str] | None = None) -> Iterator[None]:
    """While active, each generation step adds ``add(layer, step)`` to those layers' outputs."""
    wanted = _check(model, layers)
    decoder = _decoder(model)
    step = [0]

    def track(_module: nn.Module, _args: tuple, kwargs: dict) -> None:
        # transformers 5.24 renamed the decoder's `past_key_values` argument to `cache`
        cache = kwargs.get("cache", kwargs.get("past_key_values"))
        if cache is None:
            step[0] = 0
        elif hasattr(cache, "get_seq_length"):
            step[0] = int(cache.get_seq_length())
        else:  # 4.x legacy cache: per layer (key, value, ...) of [batch, heads, length, dim]
            step[0] = int(cache[0][0].shape[-2])

    hooks = [decoder.register_forward_pre_hook(track, with_kwargs=True)]
    hooks += [decoder.layers[int(name.split(".")[1])].register_forward_hook(adder(name, add, step))
              for name in wanted]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()
