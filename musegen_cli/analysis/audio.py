"""Offline measurements of generated audio, so steering and evolution have something to check.

- `artifacts`: a penalty in [0, 1] from four defects a listener hears as broken audio:
  clipping (share of samples at full scale), DC offset, high-frequency noise (share of the
  spectrum's energy in the top quarter of the band) and discontinuities (sample-to-sample
  jumps far beyond the signal's typical slope: clicks).
- `tempo_bpm`: an onset-strength envelope (positive spectral flux of log magnitudes) whose
  autocorrelation peak between 40 and 240 BPM, weighted gently towards 120 BPM so that a
  beat is preferred to its double or half, gives the tempo.
- `notes`: a frame-wise pitch tracker (normalised autocorrelation, one pitch per frame)
  whose steady runs become notes. Monophonic only: it names the strongest periodicity. A
  pretrained audio-to-MIDI model (basic-pitch, CREPE) would transcribe polyphony, but every
  one on PyPI pulls in librosa/numba and TensorFlow or ONNX Runtime, too heavy to make a
  plain requirement; this estimate needs numpy alone.

Everything takes mono float samples in [-1, 1] and a sample rate (see `analysis.wav`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

HOP_SECONDS = 0.01
#: Tempo search range and the centre of its log-normal preference (BPM).
TEMPO_RANGE = (40.0, 240.0)
TEMPO_PRIOR = 120.0


@dataclass(frozen=True)
class Artifacts:
    clipping: float  # each in [0, 1]: 0 clean, 1 as bad as the scale measures
    dc_offset: float
    hf_noise: float
    discontinuity: float

    @property
    def penalty(self) -> float:
        """The mean of the four, in [0, 1]."""
        return (self.clipping + self.dc_offset + self.hf_noise + self.discontinuity) / 4.0

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "penalty": self.penalty}


def artifacts(samples: np.ndarray, sample_rate: int) -> Artifacts:
    """Each defect scaled to [0, 1]: 1% of samples clipped, a DC offset of 0.1, a quarter
    of the energy in the top band, or 1 click per thousand samples (a jump beyond 8 times
    the RMS step and 0.25) count as fully bad."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size < 2:
        return Artifacts(0.0, 0.0, 0.0, 0.0)
    clipped = float(np.mean(np.abs(x) >= 0.999))
    dc = abs(float(x.mean()))
    spectrum = np.abs(np.fft.rfft(x - x.mean())) ** 2
    total = float(spectrum.sum())
    top = float(spectrum[int(len(spectrum) * 0.75):].sum()) / total if total > 0 else 0.0
    steps = np.abs(np.diff(x))
    typical = float(np.sqrt(np.mean(steps ** 2)))
    jumps = float(np.mean(steps > max(0.25, 8.0 * typical)))
    return Artifacts(min(1.0, clipped * 100.0), min(1.0, dc * 10.0), min(1.0, top * 4.0), min(1.0, jumps * 1000.0))


def _frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    if len(x) < size:
        x = np.pad(x, (0, size - len(x)))
    return np.lib.stride_tricks.sliding_window_view(x, size)[::hop]


def onset_strength(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """(positive spectral flux per frame, frames per second)."""
    hop = max(1, round(sample_rate * HOP_SECONDS))
    size = 1 << max(8, math.ceil(math.log2(4 * hop)))
    frames = _frames(np.asarray(samples, dtype=np.float64), size, hop) * np.hanning(size)
    magnitude = np.log1p(100.0 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.maximum(0.0, np.diff(magnitude, axis=0)).sum(axis=1)
    return flux, sample_rate / hop


def tempo_bpm(samples: np.ndarray, sample_rate: int) -> float | None:
    """Estimated tempo in BPM, or None for audio too short or without onsets."""
    envelope, rate = onset_strength(samples, sample_rate)
    envelope = envelope - envelope.mean()
    shortest, longest = (int(rate * 60.0 / bpm) for bpm in (TEMPO_RANGE[1], TEMPO_RANGE[0]))
    if len(envelope) < 2 * shortest or not np.any(envelope):
        return None
    spectrum = np.fft.rfft(envelope, n=2 * len(envelope))
    correlation = np.fft.irfft(np.abs(spectrum) ** 2)[: len(envelope)]
    lags = np.arange(shortest, min(longest, len(envelope) - 1) + 1)
    if len(lags) == 0 or correlation[0] <= 0:
        return None
    bpm = 60.0 * rate / lags
    weight = np.exp(-0.5 * (np.log2(bpm / TEMPO_PRIOR) / 1.0) ** 2)
    best = int(np.argmax(correlation[lags] * weight))
    if correlation[lags[best]] <= 0:
        return None
    lag = float(lags[best])
    if 0 < best < len(lags) - 1:  # parabolic interpolation between lags
        left, centre, right = correlation[lags[best] - 1 : lags[best] + 2]
        denominator = left - 2 * centre + right
        if denominator != 0:
            lag += 0.5 * (left - right) / denominator
    return float(60.0 * rate / lag)


@dataclass(frozen=True)
class Note:
    start: float  # seconds
    duration: float
    pitch: int  # MIDI number


def pitch_track(samples: np.ndarray, sample_rate: int, low_hz: float = 55.0, high_hz: float = 1760.0,
                threshold: float = 0.6) -> tuple[np.ndarray, float]:
    """(MIDI pitch per frame, NaN where unvoiced or silent; frames per second)."""
    x = np.asarray(samples, dtype=np.float64)
    hop = max(1, round(sample_rate * HOP_SECONDS))
    shortest, longest = max(2, int(sample_rate / high_hz)), int(sample_rate / low_hz)
    size = 1 << math.ceil(math.log2(2 * longest + 1))
    frames = _frames(x, size, hop)
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = (frames ** 2).sum(axis=1)
    spectrum = np.fft.rfft(frames, n=2 * size, axis=1)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : longest + 2]
    normalised = correlation / np.maximum(correlation[:, :1], 1e-12)
    lags = np.arange(normalised.shape[1])
    # skip the lobe around lag 0: search from the first lag where the correlation turns negative
    first_negative = np.argmax(normalised <= 0, axis=1)
    allowed = (lags >= np.maximum(first_negative, shortest)[:, None]) & (lags <= longest)
    window = np.where(allowed, normalised, -np.inf)
    # the first lag within 90% of the best peak: the fundamental rather than a multiple of it
    best = window.max(axis=1, keepdims=True)
    lag = np.argmax(window >= 0.9 * best, axis=1)
    index = np.arange(len(lag))
    while True:  # climb to the peak from that lag
        ahead = np.minimum(lag + 1, longest)
        moving = window[index, ahead] > window[index, lag]
        if not moving.any():
            break
        lag = np.where(moving, ahead, lag)
    strength = window[index, lag]
    hz = sample_rate / np.maximum(lag, 1)
    rms = np.sqrt(energy / size)
    voiced = (strength >= threshold) & (rms > max(1e-3, 0.01 * float(rms.max(initial=0.0)))) & (first_negative > 0)
    midi = np.where(voiced, 69.0 + 12.0 * np.log2(hz / 440.0), np.nan)
    return midi, sample_rate / hop


def notes(samples: np.ndarray, sample_rate: int, shortest: float = 0.05) -> list[Note]:
    """Steady runs of one rounded pitch, at least ``shortest`` seconds long."""
    midi, rate = pitch_track(samples, sample_rate)
    found: list[Note] = []
    start, current = 0, None
    rounded = [None if math.isnan(value) else int(round(value)) for value in midi]
    for index, pitch in enumerate([*rounded, None]):
        if pitch != current:
            if current is not None and (index - start) / rate >= shortest:
                found.append(Note(start / rate, (index - start) / rate, current))
            start, current = index, pitch
    return found


def measure(samples: np.ndarray, sample_rate: int) -> dict[str, object]:
    """Every measurement of one clip, JSON-ready."""
    found = notes(samples, sample_rate)
    tempo = tempo_bpm(samples, sample_rate)
    return {
        "duration": len(samples) / sample_rate,
        "artifacts": artifacts(samples, sample_rate).to_dict(),
        "tempo_bpm": None if tempo is None else round(tempo, 1),
        "notes": len(found),
        "pitch_mean": round(float(np.mean([n.pitch for n in found])), 1) if found else None,
    }


def quality(samples: np.ndarray, sample_rate: int, target_bpm: float | None = None) -> float:
    """A fitness for generated audio: 1 minus the artifact penalty, minus (with a target
    tempo) the tempo's distance from it in octaves, so clean audio near the tempo wins."""
    score = 1.0 - artifacts(samples, sample_rate).penalty
    if target_bpm is not None:
        tempo = tempo_bpm(samples, sample_rate)
        score -= 1.0 if tempo is None else min(1.0, abs(math.log2(tempo / target_bpm)))
    return score
