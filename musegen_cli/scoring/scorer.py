"""The scorer: a music encoder, a text encoder and an emotion classifier that share one space.

This is the API the other subcommands use (``musegen score``, DPO rewards, evolution):
`load_scorer` gives a `Scorer` whose `embed_pieces` and `embed_texts` return L2-normalised
vectors (cosine = dot product) and whose `emotion_probs` turns piece embeddings into
probabilities of the quadrants Q1..Q4. A scorer folder is a model directory of family
``music-encoder`` (`musegen_cli.model_dir`); its `version` is a hash of config and weights,
so features saved by one scorer are never compared with another's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from musegen_cli.plugin import UserError, collate, load_weights, read_manifest, write_model_dir
from musegen_cli.scoring.family import DEFAULT_PATH
from musegen_cli.scoring.music_encoder import MusicEncoder, MusicEncoderConfig, piece_patches
from musegen_cli.scoring.text_encoder import TextEncoder, TextEncoderConfig

FAMILY = "music-encoder"
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")

#: Named sizes: (music encoder, text encoder). ``small`` was measured on 2 CPU cores (see
#: `musegen_cli.scoring.encoder_training`); ``debug`` builds and trains in milliseconds.
PRESETS: dict[str, tuple[MusicEncoderConfig, TextEncoderConfig]] = {
    "debug": (
        MusicEncoderConfig(patch_size=16, max_patches=64, hidden=32, layers=1, heads=2, char_hidden=16,
                           char_layers=1, char_heads=1, dim=16, dropout=0.0),
        TextEncoderConfig(buckets=512, max_tokens=32, hidden=32, layers=1, heads=2, dim=16, dropout=0.0),
    ),
    "small": (
        MusicEncoderConfig(patch_size=16, max_patches=128, hidden=256, layers=4, heads=4, char_hidden=128,
                           char_layers=1, char_heads=2, dim=128, dropout=0.1),
        TextEncoderConfig(buckets=4096, max_tokens=48, hidden=128, layers=2, heads=2, dim=128, dropout=0.1),
    ),
}


class ScorerNet(nn.Module):
    """Every trained tensor of a scorer: the two encoders, the contrastive temperature and the
    emotion classifier (multinomial logistic regression on piece embeddings)."""

    def __init__(self, music: MusicEncoderConfig, text: TextEncoderConfig) -> None:
        super().__init__()
        if music.dim != text.dim:
            raise ValueError(f"music and text embeddings differ in size ({music.dim} vs {text.dim})")
        self.music = MusicEncoder(music)
        self.text = TextEncoder(text)
        self.logit_scale = nn.Parameter(torch.tensor(2.659))  # log(1 / 0.07), CLIP's start
        self.emotion = nn.Linear(music.dim, len(QUADRANTS))


def scorer_config(preset: str, music: MusicEncoderConfig, text: TextEncoderConfig) -> dict[str, Any]:
    """The JSON config of a scorer (what `build_net` reads back)."""
    return {"preset": preset, "music": asdict(music), "text": asdict(text), "quadrants": list(QUADRANTS)}


def build_net(config: Mapping[str, Any]) -> ScorerNet:
    try:
        return ScorerNet(MusicEncoderConfig(**config["music"]), TextEncoderConfig(**config["text"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"the scorer's musegen.json has no valid music-encoder config ({exc})") from None


class Scorer:
    """A trained (or random, for tests) scorer ready for inference on one device."""

    def __init__(self, net: ScorerNet, config: Mapping[str, Any], device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.config = dict(config)
        self.dim = net.music.config.dim

    @functools.cached_property
    def version(self) -> str:
        """Short hash of the config and every weight: equal versions embed identically."""
        digest = hashlib.sha256(json.dumps(self.config, sort_keys=True).encode())
        for name, tensor in sorted(self.net.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:12]

    @torch.inference_mode()
    def embed_pieces(self, pieces: Sequence[str], batch_size: int = 64,
                     on_progress: Callable[[int], None] | None = None) -> torch.Tensor:
        """[N, dim] float32 CPU embeddings of ABC texts (any text: nothing is parsed).

        Pieces are batched by length, so a batch wastes little on padding; ``on_progress``
        gets the number of pieces done after each batch.
        """
        c = self.net.music.config
        rows = [piece_patches(text, c.patch_size, c.max_patches) for text in pieces]
        out = torch.zeros(len(rows), self.dim)
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            ids, mask = collate([rows[i] for i in chunk], self.device)
            out[chunk] = self.net.music(ids, mask).float().cpu()
            if on_progress is not None:
                on_progress(start + len(chunk))
        return out

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """[N, dim] float32 CPU embeddings of free text, e.g. ``"a sad tune in D minor"``."""
        if not texts:
            return torch.zeros(0, self.dim)
        ids, mask = self.net.text.tokenize(texts, self.device)
        return self.net.text(ids, mask).float().cpu()

    @torch.inference_mode()
    def emotion_probs(self, embeddings: torch.Tensor) -> torch.Tensor:
        """[N, 4] probabilities of the quadrants (columns in `QUADRANTS` order)."""
        logits = self.net.emotion(embeddings.to(self.device, torch.float32))
        return torch.softmax(logits, dim=-1).float().cpu()


def build_scorer(preset: str = "debug", seed: int = 0) -> Scorer:
    """A scorer of random weights (for tests and as the start of training)."""
    if preset not in PRESETS:
        raise UserError(f"unknown scorer preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    music, text = PRESETS[preset]
    torch.manual_seed(seed)
    return Scorer(ScorerNet(music, text), scorer_config(preset, music, text))


def load_scorer(path: str | Path | None = None, device: str = "cpu") -> Scorer:
    """The scorer saved in ``path`` (default: the one bundled with musegen)."""
    folder = Path(path) if path is not None else DEFAULT_PATH
    if path is None and not (folder / "musegen.json").is_file():
        raise UserError(f"no default scorer is installed (expected {folder}); train one with "
                        "`musegen train --family music-encoder` and pass its folder")
    if folder.is_file():
        raise UserError(f"{folder} is a file; a scorer is a folder with musegen.json and model.safetensors")
    manifest = read_manifest(folder)
    if manifest["family"] != FAMILY:
        raise UserError(f"{folder} holds a {manifest['family']!r} model, not a scorer ({FAMILY})")
    net = build_net(manifest["config"])
    try:
        net.load_state_dict(load_weights(folder, device))
    except RuntimeError as exc:
        raise UserError(f"{folder}/model.safetensors does not match its config: {str(exc).splitlines()[0]}") from None
    return Scorer(net, manifest["config"], device)


def save_scorer(scorer: Scorer, path: Path, provenance: Mapping[str, Any], metrics: Mapping[str, Any]) -> None:
    """Write the scorer's musegen.json and model.safetensors atomically; the command line and
    the scorer's version are added to the provenance."""
    record = {"command": list(sys.argv), **provenance, "version": scorer.version}
    write_model_dir(Path(path), family=FAMILY, config=scorer.config, state_dict=scorer.net.state_dict(),
                    provenance=record, metrics=metrics)
