"""Compound-word tokens of MIDI, through MidiTok's CPWord tokenizer.

Why MidiTok: it is the maintained MIDI tokenizer, and its CPWord scheme is the compound-word
representation MusER trains on (one token per event with the fields family/type,
bar-or-position, pitch, velocity, duration, chord and tempo), so we write no MIDI parsing or
quantization of our own. It installs as a pure-Python wheel over symusic (a compiled MIDI
reader) with no torch or CUDA requirement. Several tracks are merged into one stream before
encoding (the corpus renders melody and chords as separate parts).

An event is a row of ``len(FIELDS)`` ids, one per field's own vocabulary. ``grammar_masks``
gives, for the two event types, which ids each field may take: generation samples the type
first and then every field under its mask, so every decoded row is one MIDI can hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from musegen_cli.plugin import UserError

if TYPE_CHECKING:
    import torch
    from miditok import CPWord

#: CPWord's fields, in the order of its vocabularies.
FIELDS = ("type", "position", "pitch", "velocity", "duration", "chord", "tempo")
PAD, BOS, EOS, IGNORE = 0, 1, 2, 4  # ids every field's vocabulary shares
METRIC, NOTE = 4, 5  # the ids of Family_Metric and Family_Note in the type field

#: The musical elements, each with its own latent sub-space, the field it is read from, and
#: the attribute its regularization orders pieces by (see ``attributes``).
ELEMENTS = ("rhythm", "pitch", "duration", "velocity")
ELEMENT_FIELD = {"rhythm": "position", "pitch": "pitch", "duration": "duration", "velocity": "velocity"}


@lru_cache(maxsize=1)
def tokenizer() -> CPWord:
    """The one tokenizer configuration every muser model uses (16 velocity bins, chords and
    tempos on, one merged track)."""
    from miditok import CPWord, TokenizerConfig

    config = TokenizerConfig(use_chords=True, use_tempos=True, use_programs=False, use_rests=False,
                             use_time_signatures=False, num_velocities=16)
    return CPWord(config)


def vocab_sizes() -> list[int]:
    return [len(v) for v in tokenizer().vocab]


def encode_midi(data: bytes) -> list[list[int]]:
    """Compound-word ids [events][fields] of a MIDI file (all pitched tracks merged)."""
    from symusic import Score

    try:
        score = Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError on broken files
        raise UserError(f"cannot read MIDI: {exc}") from None
    pitched = [t for t in score.tracks if not t.is_drum]
    if not pitched or not any(len(t.notes) for t in pitched):
        raise UserError("the MIDI file has no notes")
    merged = pitched[0].copy()
    for track in pitched[1:]:
        merged.notes.extend(track.notes)
    merged.notes.sort(key=lambda n: (n.time, n.pitch))
    score.tracks = [merged]
    sequences = tokenizer().encode(score)
    ids = (sequences[0] if isinstance(sequences, list) else sequences).ids
    return [list(row) for row in ids]


def decode_midi(rows: Sequence[Sequence[int]]) -> bytes:
    """MIDI bytes of compound-word ids. Special rows (BOS/EOS/PAD) are dropped, and metric
    rows are made whole as CPWord reads them: a bar carries no chord or tempo, a position
    always a tempo (the last one given, else the first bin)."""
    vocab = tokenizer().vocab
    bar, first_tempo = vocab[1]["Bar_None"], min(_values(6, ("Tempo_",)))
    tempo, kept = first_tempo, []
    for row in rows:
        row = list(row)
        if row[0] == METRIC and row[1] == bar:
            row[5] = row[6] = IGNORE
        elif row[0] == METRIC:
            tempo = row[6] if row[6] > IGNORE else tempo
            row[6] = tempo
        elif row[0] != NOTE:
            continue
        kept.append(row)
    score = tokenizer().decode([kept])
    return bytes(score.dumps_midi())


def _values(field: int, prefixes: Sequence[str]) -> list[int]:
    vocab = tokenizer().vocab[field]
    return [index for token, index in vocab.items() if any(token.startswith(p) for p in prefixes)]


@lru_cache(maxsize=1)
def _grammar() -> dict[int, list[list[int]]]:
    """Allowed ids per field for each event type (CPWord's rules)."""
    position = _values(1, ("Bar_", "Position_"))
    chord, tempo = _values(5, ("Chord_",)), _values(6, ("Tempo_",))
    pitch = _values(2, ("Pitch_",))
    return {
        METRIC: [[METRIC], position, [IGNORE], [IGNORE], [IGNORE], [IGNORE] + chord, [IGNORE] + tempo],
        NOTE: [[NOTE], [IGNORE], pitch, _values(3, ("Velocity_",)), _values(4, ("Duration_",)), [IGNORE], [IGNORE]],
    }


def grammar_masks(kind: int, device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Boolean masks (one per field, over its vocabulary) of the ids an event of type
    ``kind`` (``METRIC`` or ``NOTE``) may hold."""
    import torch

    masks = []
    for size, allowed in zip(vocab_sizes(), _grammar()[kind]):
        mask = torch.zeros(size, dtype=torch.bool, device=device)
        mask[allowed] = True
        masks.append(mask)
    return masks


def bar_starts(rows: Sequence[Sequence[int]]) -> list[int]:
    """Indices of the events that open a bar (windows are cut there)."""
    bar = tokenizer().vocab[1]["Bar_None"]
    return [i for i, row in enumerate(rows) if row[0] == METRIC and row[1] == bar]


@lru_cache(maxsize=1)
def _field_values() -> dict[str, dict[int, float]]:
    """Numeric value of the ids of each measured field (pitch number, velocity, beats)."""
    vocab = tokenizer().vocab
    out: dict[str, dict[int, float]] = {"pitch": {}, "velocity": {}, "duration": {}}
    for token, index in vocab[2].items():
        if token.startswith("Pitch_"):
            out["pitch"][index] = float(token.split("_")[1])
    for token, index in vocab[3].items():
        if token.startswith("Velocity_"):
            out["velocity"][index] = float(token.split("_")[1])
    for token, index in vocab[4].items():
        if token.startswith("Duration_"):
            beat, part, res = (int(x) for x in token.split("_")[1].split("."))
            out["duration"][index] = beat + part / res
    return out


@dataclass(frozen=True)
class Attributes:
    """What each element's latent sub-space is ordered by (one number per element)."""

    rhythm: float  # notes per bar
    pitch: float  # mean MIDI pitch
    duration: float  # mean log2 duration in beats
    velocity: float  # mean MIDI velocity

    def as_list(self) -> list[float]:
        return [getattr(self, name) for name in ELEMENTS]


def attributes(rows: Sequence[Sequence[int]]) -> Attributes:
    """The element attributes of a sequence of events (zeros when it holds no notes)."""
    values = _field_values()
    notes = [r for r in rows if r[0] == NOTE]
    bars = max(1, len(bar_starts(rows)))
    if not notes:
        return Attributes(0.0, 0.0, 0.0, 0.0)

    def mean(name: str, field: int, transform: Callable[[float], float] = float) -> float:
        known = [transform(values[name][r[field]]) for r in notes if r[field] in values[name]]
        return sum(known) / len(known) if known else 0.0

    return Attributes(
        rhythm=len(notes) / bars,
        pitch=mean("pitch", 2),
        duration=mean("duration", 4, lambda beats: math.log2(max(beats, 1e-3))),
        velocity=mean("velocity", 3),
    )
