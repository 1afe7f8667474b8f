"""MusicGen (transformers) as a musegen model family: ``FAMILY``, found through the entry point
``musicgen = "musegen_plugins.musicgen.family:FAMILY"``.

Audio, not notation: its loaded model declares ``output_kind = "audio"`` and generates WAV
bytes. Its layers read audio clips (``Layers.reads = "audio"``: concept pieces are WAV
paths), and its conditioning vector is the text encoder's token embeddings of a prompt,
which ``musegen evolve --genome embedding`` searches around (as EvoMusic does).

This module imports no torch or transformers; each slot imports ``inference`` or ``layers``
when called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musegen_cli.registry import Condition, ModelFamily

if TYPE_CHECKING:
    import torch

    from musegen_cli.contract import GenerateRequest, SteeringCallback

NAME = "musicgen"

CONDITIONS = (Condition("text", "A description of the music, e.g. 'lofi piano, slow and calm'."),)


class Sampler:
    def load(self, model_dir: Path, device: torch.device | str = "cpu") -> Any:
        from .inference import load

        return load(model_dir, device)


class Layers:
    """Decoder layers over EnCodec codes of WAV clips (``musegen steer``); see ``layers``."""

    reads = "audio"  # concept pieces are WAV file paths, not ABC text

    def names(self, model: Any) -> list[str]:
        from .layers import layer_names

        return layer_names(model)

    def capture(self, model: Any, pieces: Sequence[str], conditions: Sequence[Mapping[str, str]] | None,
                pooling: str = "mean") -> Mapping[str, torch.Tensor]:
        from .layers import capture

        return capture(model, pieces, conditions, pooling)  # type: ignore[arg-type]

    def steer(self, model: Any, add: SteeringCallback, layers: Sequence[str] | None = None):
        from .layers import steer

        return steer(model, add, layers)


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
    sampler=Sampler(),
    conditions=CONDITIONS,
    layers=Layers(),
    conditioning_vector=ConditioningVector(),
    presets={"debug": "tiny random MusicGen for tests (16 wide, 2 decoder layers, 8 kHz): "
                      "python -m musegen_plugins.musicgen.debug FOLDER"},
    obtainable={name: _how_to_get(name) for name in ("musicgen-small", "musicgen-medium", "musicgen-large",
                                                     "musicgen-melody")},
)
