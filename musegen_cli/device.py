"""Device, mixed precision, seeding and threads: chosen here once, used by every family.

torch is imported inside the functions, so commands that never touch a model stay fast.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from musegen_cli.errors import UserError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(spec: str = "auto") -> torch.device:
    """`auto` picks CUDA, then Apple MPS, then CPU; an explicit choice must be available."""
    import torch

    spec = spec.strip().lower()
    kind = spec.split(":", 1)[0]
    if kind not in DEVICE_CHOICES:
        raise UserError(f"unknown device {spec!r}; choose one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    if kind == "mps" and not _mps_available():
        raise UserError("--device mps was asked for but Apple MPS is not available; use --device cpu or auto")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UserError(f"malformed device {spec!r}; examples: cpu, cuda, cuda:1, mps") from None
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"{spec} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed-precision dtype for training on `device`: bfloat16 on GPUs that support it,
    else None (full float32; float16 would need loss scaling, and CPUs gain little)."""
    import torch

    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated exactly."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(count: int) -> None:
    """Limit torch's CPU threads; 0 keeps torch's own choice."""
    if count < 0:
        raise UserError(f"threads must be 0 (automatic) or positive, got {count}")
    if count:
        import torch

        torch.set_num_threads(count)
