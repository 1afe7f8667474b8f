"""Reference sets and the learned scores computed against them.

A reference set is the music a piece is compared with: its pieces' embeddings from one
scorer (the music encoder), with their names. It comes from a folder or file of music, a
corpus collection (`corpus:oneills1850`, `corpus:bach`), or a feature file saved earlier
(`--save-features`), which records the scorer version so features of different encoders
are never mixed.

Scores, each a cosine between L2-normalised embeddings (in [-1, 1]):

- `reference`: to the normalised mean embedding of the set, the CLaMP 2 score NotaGen's
  DPO rewards (how much a piece sounds like the set as a whole);
- `plagiarism`: to the single nearest reference piece, and which one it is (calibrated into a
  percentile and a verdict by `musegen_cli.scoring.plagiarism`);
- `text`: to the embedding of a text description.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

if TYPE_CHECKING:
    import torch

#: Suffix of saved feature files (safetensors with the set's metadata in its header).
FEATURES_SUFFIX = ".safetensors"
_FORMAT = "musegen-reference-features"


class Embedder(Protocol):
    """What a reference set needs of a scorer."""

    version: str

    def embed_pieces(self, pieces: Sequence[str], batch_size: int = 64,
                     on_progress: Callable[[int], None] | None = None) -> torch.Tensor: ...


@dataclass(frozen=True)
class ReferenceSet:
    """Embeddings [M, D] (L2-normalised, float32) of named pieces, from one scorer version."""

    names: list[str]
    embeddings: torch.Tensor
    scorer_version: str
    source: str

    def __post_init__(self) -> None:
        if len(self.names) != len(self.embeddings):
            raise ValueError(f"{len(self.names)} names but {len(self.embeddings)} embeddings")
        if not self.names:
            raise UserError(f"the reference set {self.source} holds no pieces")

    @property
    def centroid(self) -> torch.Tensor:
        """The normalised mean embedding [D]."""
        import torch

        mean = self.embeddings.mean(0)
        return mean / torch.linalg.vector_norm(mean).clamp(min=1e-12)

    def check_version(self, scorer: Embedder) -> None:
        if self.scorer_version != scorer.version:
            raise UserError(
                f"the reference set {self.source} was made by scorer version {self.scorer_version}, "
                f"not this scorer ({scorer.version}); make it again from the music"
            )


def embed_reference(pieces: Sequence[tuple[str, str]], scorer: Embedder, source: str,
                    on_progress: Callable[[int], None] | None = None) -> ReferenceSet:
    """A reference set from (name, ABC) pairs."""
    if not pieces:
        raise UserError(f"the reference set {source} holds no pieces")
    embeddings = scorer.embed_pieces([abc for _name, abc in pieces], on_progress=on_progress)
    return ReferenceSet([name for name, _abc in pieces], embeddings, scorer.version, source)


def save_features(reference: ReferenceSet, path: Path) -> None:
    """Write the set as safetensors, its names and scorer version in the header; atomically."""
    from safetensors.torch import save

    metadata = {"format": _FORMAT, "scorer_version": reference.scorer_version, "source": reference.source,
                "names": json.dumps(reference.names, ensure_ascii=False)}
    atomic_write(path, save({"embeddings": reference.embeddings.contiguous()}, metadata=metadata))


def load_features(path: Path) -> ReferenceSet:
    """Read a feature file written by `save_features`; anything else is a clear error."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        data = path.read_bytes()
        tensors = load(data)
        metadata = _header_metadata(data)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (SafetensorError, ValueError) as exc:
        raise UserError(f"{path} is not a musegen feature file ({exc})") from None
    if metadata.get("format") != _FORMAT or "embeddings" not in tensors:
        raise UserError(f"{path} is not a musegen feature file (save one with `musegen score --save-features`)")
    names = json.loads(metadata["names"])
    return ReferenceSet(names, tensors["embeddings"].float(), metadata["scorer_version"], metadata.get("source", str(path)))


def _header_metadata(data: bytes) -> dict[str, str]:
    """The `__metadata__` of a safetensors file (its JSON header)."""
    if len(data) < 8:
        raise ValueError("too short")
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    return header.get("__metadata__") or {}


def reference_scores(embeddings: torch.Tensor, reference: ReferenceSet) -> torch.Tensor:
    """Cosine of each piece [N, D] to the set's centroid: [N]."""
    return embeddings @ reference.centroid


def nearest(embeddings: torch.Tensor, reference: ReferenceSet) -> tuple[torch.Tensor, list[str]]:
    """Highest cosine of each piece to any single reference piece, and that piece's name."""
    similarity = embeddings @ reference.embeddings.T
    best, index = similarity.max(1)
    return best, [reference.names[i] for i in index.tolist()]


def text_scores(embeddings: torch.Tensor, text_embedding: torch.Tensor) -> torch.Tensor:
    """Cosine of each piece [N, D] to one text embedding [D] (or [1, D]): [N]."""
    return embeddings @ text_embedding.reshape(-1)


def is_feature_file(spec: str) -> bool:
    return Path(spec).suffix == FEATURES_SUFFIX and Path(spec).is_file()


def music_pieces(spec: str, progress: Callable[..., Any] | None = None) -> list[tuple[str, str]]:
    """(name, ABC) of every readable piece of a music folder, file or corpus:NAME.
    ``progress`` wraps the reading loop (e.g. a progress bar) when given."""
    from musegen_cli.scoring.inputs import collect_sources, read_pieces

    pieces = read_pieces(collect_sources([spec]))
    wrapped = progress(pieces, total=len(pieces), description="reading reference") if progress else pieces
    texts = [(piece.name, piece.abc()) for piece in wrapped]
    return [(name, abc) for name, abc in texts if abc]


def reference_from_spec(spec: str, scorer: Embedder,
                        progress: Callable[..., Any] | None = None) -> ReferenceSet:
    """A reference set from a feature file (checked against the scorer's version) or from
    music (a folder, a file, corpus:NAME), embedded now."""
    if is_feature_file(spec):
        reference_set = load_features(Path(spec))
        reference_set.check_version(scorer)
        return reference_set
    return embed_reference(music_pieces(spec, progress), scorer, spec)
