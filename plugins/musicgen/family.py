"""MusicGen (transformers) as a musegen model family: ``FAMILY``, found through the entry point
``musicgen = "musegen_plugins.musicgen.family:FAMILY"``.

Audio, not notation: its features declare ``output="audio"`` (``generate`` returns WAV
bytes) and ``layer_input="audio"`` (its layers read audio clips: concept pieces are WAV
paths), and its conditioning vector is the text encoder's token embeddings of a prompt,
which ``musegen evolve --genome embedding`` searches around (as EvoMusic does).

This module imports no torch or transformers; the sampler and layers slots import
``inference`` and ``layers`` when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from musegen_cli.plugin import Condition, Features, LazyLayers, LazySampler, ModelFamily

if TYPE_CHECKING:
    import torch

    from musegen_cli.plugin import GenerateRequest

NAME = "musicgen"

CONDITIONS = (Condition("text", "A description of the music, e.g. 'lofi piano, slow and calm'."),)


class ConditioningVector:
    """The text encoder's input token embeddings of a prompt: a point [tokens, hidden] that
    evolution moves, and generation from any such point."""

    def initial(self, model: Any, text: str) -> torch.Tensor:
        return model.text_embeddings(text)

    def generate(self, model: Any, point: torch.Tensor, request: GenerateRequest) -> list[bytes]:
        return model.generate(request, embeddings=point)


def _how_to_get(name: str) -> str:
    return (f"MusicGen weights are never downloaded by musegen: fetch facebook/{name} into the Hugging Face "
            f"cache (`hf download facebook/{name}` on a machine online), then make a model folder with "
            f"`python -m musegen_plugins.musicgen.weights facebook/{name} models/{name}` and pass "
            f"`-m models/{name}`")


FAMILY = ModelFamily(
    name=NAME,
    description="Text-to-audio MusicGen through transformers, from local weights only (EvoMusic, MusicRFM).",
    version="0.1.0",
    conditions=CONDITIONS,
    presets={"debug": "tiny random MusicGen for tests (16 wide, 2 decoder layers, 8 kHz): "
                      "python -m musegen_plugins.musicgen.debug FOLDER"},
    sampler=LazySampler(f"{__package__}.inference"),
    layers=LazyLayers(f"{__package__}.layers"),
    conditioning_vector=ConditioningVector(),
    features=Features(output="audio", layer_input="audio"),
    obtainable={name: _how_to_get(name) for name in ("musicgen-small", "musicgen-medium", "musicgen-large",
                                                     "musicgen-melody")},
)
