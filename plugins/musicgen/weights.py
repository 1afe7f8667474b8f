"""Finding MusicGen weights offline: a model directory's own files, or the Hugging Face cache.

A musicgen model directory holds ``musegen.json`` (family ``musicgen``; its config's
``source`` names the weights) and, usually, the files transformers' ``save_pretrained``
writes (``config.json``, ``model.safetensors``, tokenizer and feature-extractor files).
Without ``config.json`` the weights come from the local Hugging Face cache under the hub id
in ``source`` (e.g. ``facebook/musicgen-small``). Nothing is ever downloaded: offline mode
is switched on before transformers is imported and every load passes ``local_files_only``.

``python -m musegen_plugins.musicgen.weights facebook/musicgen-small FOLDER`` makes a model
directory from cached weights (links to the cached files, so steering can hash them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from musegen_cli.plugin import UserError

FAMILY_NAME = "musicgen"
DEFAULT_SOURCE = "facebook/musicgen-small"
#: Files ``prepare`` links from a cached snapshot into a model directory.
LINKED = ("config.json", "generation_config.json", "model.safetensors", "preprocessor_config.json",
          "special_tokens_map.json", "spiece.model", "tokenizer.json", "tokenizer_config.json")


def go_offline() -> None:
    """Forbid downloads for the rest of the process (read by huggingface_hub on import)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _cache_hint() -> str:
    return os.environ.get("HF_HUB_CACHE") or str(Path(os.environ.get("HF_HOME", "~/.cache/huggingface")) / "hub")


def cached_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot folder of ``repo_id``, or None when it is not in the local cache."""
    go_offline()
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # LocalEntryNotFoundError, a malformed id, an unreadable cache: all mean "absent"
        return None
    return folder if (folder / "config.json").is_file() else None


def weights_folder(model_dir: Path, config: dict[str, Any]) -> Path:
    """Where the transformers files of a model directory are, or a one-line error saying
    what to put where."""
    if (model_dir / "config.json").is_file():
        return model_dir
    source = str(config.get("source") or DEFAULT_SOURCE)
    local = Path(source).expanduser()
    if not local.is_absolute():
        local = model_dir / local
    if (local / "config.json").is_file():
        return local
    cached = cached_snapshot(source)
    if cached is not None:
        return cached
    raise UserError(
        f"no MusicGen weights for {model_dir}: put the files of `save_pretrained` (config.json, "
        f"model.safetensors, tokenizer files) in {model_dir}, or put {source!r} in the Hugging Face "
        f"cache ({_cache_hint()}, e.g. `hf download {source}` on a machine online); musegen never downloads"
    )


def load_pretrained(folder: Path, device: Any) -> tuple[Any, Any]:
    """(model in eval mode on ``device``, tokenizer) from a transformers folder: float16 on
    CUDA, float32 elsewhere."""
    go_offline()
    import torch
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # MusicGen's pad id lies outside its vocabulary by design
    hf_logging.disable_progress_bar()  # musegen draws its own progress
    dtype = torch.float16 if torch.device(device).type == "cuda" else torch.float32
    try:
        model = MusicgenForConditionalGeneration.from_pretrained(folder, local_files_only=True, dtype=dtype)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load MusicGen from {folder}: {str(exc).splitlines()[0]}") from None
    return model.to(device).eval(), tokenizer


def write_manifest(folder: Path, source: str, provenance: dict[str, Any] | None = None) -> Path:
    """Write ``musegen.json`` naming the family and the weights' source."""
    import json

    from musegen_cli.plugin import MANIFEST, SCHEMA_VERSION, atomic_write

    manifest = {"family": FAMILY_NAME, "schema_version": SCHEMA_VERSION, "config": {"source": source},
                "provenance": dict(provenance or {}), "metrics": {}}
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return folder


def prepare(repo_id: str, folder: Path) -> Path:
    """A model directory for cached weights: ``musegen.json`` and links to the cached files."""
    snapshot = cached_snapshot(repo_id)
    if snapshot is None:
        raise UserError(f"{repo_id!r} is not in the local Hugging Face cache ({_cache_hint()}); fetch it "
                        f"with `hf download {repo_id}` on a machine online, then run this again")
    folder.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        target, link = snapshot / name, folder / name
        if target.is_file() and not link.exists():
            link.symlink_to(target.resolve())
    return write_manifest(folder, repo_id, {"source": repo_id})


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m musegen_plugins.musicgen.weights HUB_ID FOLDER", file=sys.stderr)
        return 2
    try:
        print(prepare(argv[0], Path(argv[1])))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
