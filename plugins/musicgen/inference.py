"""A loaded MusicGen: text (or a point in the text encoder's embedding space) to WAV bytes.

The loaded model declares ``output_kind = "audio"``: ``generate`` returns WAV files (bytes),
not ABC, and ``musegen generate`` writes them instead of notation. Sampling settings come
from ``GenerateRequest.sampling``: ``duration`` (seconds, default 8), ``guidance_scale``
(classifier-free guidance, default 3), ``temperature``, ``top_k`` (default 250, MusicGen's
own), ``top_p``. The same seed gives the same audio: sampling draws from a generator state
seeded per call, without touching the caller's random state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from musegen_cli.plugin import GenerateRequest, UserError, read_manifest, wav_bytes

from .weights import FAMILY_NAME, load_pretrained, weights_folder

DEFAULTS = {"duration": 8.0, "guidance_scale": 3.0, "temperature": 1.0, "top_k": 250, "top_p": 0.0}


class MusicgenModel:
    """MusicGen and its tokenizer on one device."""

    output_kind = "audio"

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        return float(self.model.config.audio_encoder.frame_rate)

    def known_conditions(self) -> dict[str, tuple[str, ...]]:
        return {}  # the one condition, text, is free

    def tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input ids, attention mask) of prompts, padded to one length."""
        encoded = self.tokenizer(texts, padding=True, return_tensors="pt")
        return encoded["input_ids"].to(self.device), encoded["attention_mask"].to(self.device)

    def text_embeddings(self, text: str) -> torch.Tensor:
        """The text encoder's input token embeddings of a prompt [tokens, hidden] (float32, CPU)."""
        ids, _ = self.tokens([text])
        with torch.inference_mode():
            return self.model.text_encoder.get_input_embeddings()(ids)[0].float().cpu()

    def generate(self, request: GenerateRequest, embeddings: torch.Tensor | None = None) -> list[bytes]:
        """``request.count`` WAV files, prompted by the ``text`` condition, or by ``embeddings``
        [tokens, hidden] given in place of the text's token embeddings."""
        settings = {**DEFAULTS, **dict(request.sampling)}
        duration = float(settings["duration"])
        if not 0 < duration <= 60:
            raise UserError(f"duration must be between 0 and 60 seconds, not {duration:g}")
        codebooks = self.model.decoder.num_codebooks
        frames = math.ceil(duration * self.frame_rate)
        limit = self.model.decoder.config.max_position_embeddings - codebooks
        if frames > limit:
            raise UserError(f"this MusicGen writes at most {limit / self.frame_rate:.0f} seconds at once")
        if embeddings is None:
            ids, mask = self.tokens([str(request.conditions.get("text", ""))] * request.count)
            inputs: dict[str, torch.Tensor] = {"input_ids": ids}
        else:
            point = embeddings.to(self.device, self.model.text_encoder.dtype)[None].expand(request.count, -1, -1)
            mask = torch.ones(point.shape[:2], dtype=torch.long, device=self.device)
            inputs = {"inputs_embeds": point}
        options = {"do_sample": float(settings["temperature"]) > 0, "max_new_tokens": frames + codebooks - 1,
                   "guidance_scale": float(settings["guidance_scale"]) or None}
        if options["do_sample"]:
            options.update(temperature=float(settings["temperature"]), top_k=int(settings["top_k"]) or None,
                           top_p=float(settings["top_p"]) or None)
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(request.seed)
            audio = self.model.generate(**inputs, attention_mask=mask, **options)
        length = round(duration * self.sample_rate)
        audio = audio.float().cpu()[..., :length]
        audio = torch.nn.functional.pad(audio, (0, length - audio.shape[-1]))
        return [wav_bytes(clip.numpy(), self.sample_rate) for clip in audio]


def load(model_dir: Path | str, device: torch.device | str = "cpu") -> MusicgenModel:
    """Load a musicgen model directory (see ``weights``) without touching the network."""
    path = Path(model_dir)
    manifest = read_manifest(path)
    if manifest["family"] != FAMILY_NAME:
        raise UserError(f"{path} holds a {manifest['family']!r} model, not a musicgen one")
    config: Mapping[str, Any] = manifest.get("config") or {}
    model, tokenizer = load_pretrained(weights_folder(path, dict(config)), device)
    return MusicgenModel(model, tokenizer)
