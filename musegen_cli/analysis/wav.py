"""WAV files as numpy arrays and back: what audio models write and audio measurements read.

Only the standard library's `wave` module is used (PCM 8/16/24/32-bit), so reading a WAV
needs nothing beyond numpy; samples come back as float32 in [-1, 1], mixed down to mono.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from musegen_cli.errors import UserError

if TYPE_CHECKING:
    import numpy as np


def read_wav(source: Path | str | bytes) -> tuple[np.ndarray, int]:
    """(mono float32 samples, sample rate) of a WAV file or its bytes."""
    import numpy as np

    name = "WAV data" if isinstance(source, bytes) else str(source)
    try:
        handle = wave.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), "rb")
    except (OSError, EOFError, wave.Error) as exc:
        raise UserError(f"cannot read {name} as a PCM WAV file: {exc}") from None
    with handle:
        width, channels, rate = handle.getsampwidth(), handle.getnchannels(), handle.getframerate()
        raw = handle.readframes(handle.getnframes())
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        bytes_ = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        ints = (bytes_[:, 0].astype(np.int32) | (bytes_[:, 1].astype(np.int32) << 8)
                | (bytes_[:, 2].astype(np.int32) << 16))
        samples = (np.where(ints >= 1 << 23, ints - (1 << 24), ints) / float(1 << 23)).astype(np.float32)
    elif width in (2, 4):
        dtype = np.int16 if width == 2 else np.int32
        samples = np.frombuffer(raw, dtype=dtype).astype(np.float32) / float(np.iinfo(dtype).max)
    else:
        raise UserError(f"{name}: {8 * width}-bit WAV samples are not supported")
    return samples.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM WAV of float samples [time] or [channels, time], clipped to [-1, 1]."""
    import numpy as np

    data = np.asarray(samples, dtype=np.float32)
    frames = data[:, None] if data.ndim == 1 else data.T
    pcm = (np.clip(frames, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(frames.shape[1])
        handle.setsampwidth(2)
        handle.setframerate(int(sample_rate))
        handle.writeframes(pcm.tobytes())
    return buffer.getvalue()
