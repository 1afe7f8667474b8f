"""Per-piece musical features: parsing, bars, key and mode, tempo, density, register, emotion.

`analyze_abc` reads one ABC tune (declarations from its header, music through
`notation.parse_score`); `analyze_score` measures any music21 score. Neither raises on bad
music: a piece that does not parse comes back with `parses=False` and the reason in `error`.

Definitions (units and choices callers rely on):

- `notes`: pitched note events as written; a chord is one event, a tied continuation is not
  a new one, grace notes and chord symbols are not notes. `bars`: written bars of the
  longest part or voice (for ABC read from the text by `abc_bars`, since music21 re-bars
  it). `bars_off_meter`: bars whose length disagrees with the meter, by the rule in `bars`
  (pickups and the short bars that complete them are excused).
- `tempo_qpm`: quarter notes per minute from the declared tempo, else `DEFAULT_TEMPO_QPM`
  (`tempo_source` says which). Only the first tempo counts; later changes are ignored.
- `duration_seconds`: as performed, repeats and 1st/2nd endings expanded (see `bars`), at
  `tempo_qpm`. `notes_per_second`: notes as performed (repeats expanded) / duration_seconds.
- `pitch_*`: MIDI numbers over every written pitch of every note event (chords contribute
  each pitch), as music21 reads them; `pitch_sd` is the population standard deviation.
- `declared_key`/`declared_mode`: the opening key as declared (a bare ABC `K:G` is "G
  major", ABC's default); `analyzed_key`: music21's key analysis (Aarden-Essen weights,
  major or minor only) of the whole piece. `mode`/`mode_source`: the mode the emotion
  rule uses: the last declared key's, chosen by `declared.resolve_mode`, only when the
  music closes on that key's tonic triad (`ends_in_tonic_triad`: the declared key is the
  piece's tonal centre); otherwise the analyzed key's. A header cannot make a piece minor.
- `ends_on_tonic_triad`: every pitch sounding at the last note onset belongs to the tonic
  triad, with the tonic lowest (a melody must end on the tonic itself). The key is the
  last declared one that has a tonic (its mode chosen as for `mode`), else the analyzed key.
  `ends_in_tonic_triad`: those pitches all belong to the triad, whichever is lowest (a
  melody may end on the third or fifth); `ends_on_tonic`: the lowest of them is the tonic.
- `valence`, `arousal`, `quadrant`: the rule in `emotion`.
- `pitch_class_entropy`, `scale_consistency`, `repetition`, `bar_consistency`,
  `step_share`, `leap_share`, `duration_entropy`: see `metrics`. The melody whose intervals
  are counted is each part's highest pitch at each attack onset, part by part; note lengths
  are those of every attack as written.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from musegen_cli.analysis import emotion, metrics
from musegen_cli.analysis.bars import Bar, is_attack, off_meter_bars, play_counts, read_bars, sounds
from musegen_cli.analysis.declared import Declared, declared_from_score, resolve_mode
from musegen_cli.notation.abc.modes import pitch_class, tonic_triad

if TYPE_CHECKING:
    from music21.stream import Score, Stream

#: Tempo assumed when a piece declares none: 120 quarter notes per minute, the default of
#: MIDI (500,000 microseconds per quarter), abc2midi and music21 alike.
DEFAULT_TEMPO_QPM = 120.0


@dataclass(frozen=True)
class PieceFeatures:
    """The measured features of one piece (module docstring: definitions and units)."""

    title: str | None = None
    parses: bool = True
    error: str | None = None
    notes: int | None = None
    bars: int | None = None
    bars_off_meter: int | None = None
    meter: str | None = None
    declared_key: str | None = None
    declared_mode: str | None = None
    analyzed_key: str | None = None
    mode: str | None = None
    mode_source: str | None = None
    ends_on_tonic_triad: bool | None = None
    ends_in_tonic_triad: bool | None = None
    ends_on_tonic: bool | None = None
    tempo_qpm: float | None = None
    tempo_source: str | None = None
    duration_seconds: float | None = None
    notes_per_second: float | None = None
    pitch_mean: float | None = None
    pitch_sd: float | None = None
    pitch_low: int | None = None
    pitch_high: int | None = None
    pitch_range: int | None = None
    valence: str | None = None
    arousal: str | None = None
    quadrant: str | None = None
    pitch_class_entropy: float | None = None
    scale_consistency: float | None = None
    repetition: float | None = None
    bar_consistency: float | None = None
    step_share: float | None = None
    leap_share: float | None = None
    duration_entropy: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with one key per field, in field order."""
        return asdict(self)


def analyze_abc(text: str) -> PieceFeatures:
    """Features of one ABC tune (the first, if the text holds several)."""
    from musegen_cli.analysis.abc_bars import read_abc_bars
    from musegen_cli.analysis.abc_header import parse_abc_header
    from musegen_cli.errors import UserError
    from musegen_cli.notation.formats import parse_score, split_abc_tunes

    tunes = split_abc_tunes(text)
    tune = tunes[0] if tunes else text
    declared = parse_abc_header(tune).declared
    try:
        score = parse_score(tune.encode("utf-8"), "abc")
    except UserError as exc:
        return PieceFeatures(title=declared.title, parses=False, error=str(exc))
    return analyze_score(score, declared=declared, bars=read_abc_bars(tune))


def analyze_score(
    score: Score, *, declared: Declared | None = None, bars: list[list[Bar]] | None = None
) -> PieceFeatures:
    """Features of a parsed score. `declared` and `bars` (one list per part or voice)
    replace what is read from the score: pass them for ABC, whose header and bar lines
    music21 reads incompletely (see `abc_header` and `abc_bars`)."""
    parts: list[Stream] = list(score.parts) or [score]
    declared = declared or declared_from_score(score)
    bars = bars or [read_bars(part) for part in parts]
    base = PieceFeatures(
        title=declared.title,
        notes=sum(bar.notes for part_bars in bars for bar in part_bars),
        bars=max(len(part_bars) for part_bars in bars),
        bars_off_meter=len({index for part_bars in bars for index in off_meter_bars(part_bars)}),
        meter=_meter(score),
        declared_key=declared.key.name if declared.key else None,
        declared_mode=declared.key.mode if declared.key else None,
    )
    base = replace(base, bar_consistency=metrics.bar_consistency(base.bars, base.bars_off_meter))
    part_events = [_note_events(part) for part in parts]
    events = [event for events_of_part in part_events for event in events_of_part]
    pitches = [midi for event in events if event.attack for midi in event.midis]
    if not pitches:
        return base
    played = [list(zip(part_bars, play_counts(part_bars))) for part_bars in bars]
    played_quarters = max(sum(bar.length * count for bar, count in part) for part in played)
    played_notes = sum(bar.notes * count for part in played for bar, count in part)
    qpm = declared.tempo_qpm or DEFAULT_TEMPO_QPM
    seconds = played_quarters * 60.0 / qpm
    density = played_notes / seconds if seconds > 0 else None
    mean = sum(pitches) / len(pitches)
    tonic, analyzed_mode = _analyze_key(score)
    in_triad, on_tonic = _ending(events, _closing_key(declared, tonic, analyzed_mode))
    mode, mode_source = resolve_mode(declared.final_key or declared.key, tonic, analyzed_mode)
    if mode_source == "declared" and not in_triad:
        mode, mode_source = analyzed_mode, "analyzed"  # it does not close in its declared key
    feeling = emotion.classify(mode, density, mean)
    melodies = [_melody(part) for part in part_events]
    return replace(
        base,
        analyzed_key=f"{tonic} {analyzed_mode}",
        mode=mode,
        mode_source=mode_source,
        ends_on_tonic_triad=in_triad and on_tonic,
        ends_in_tonic_triad=in_triad,
        ends_on_tonic=on_tonic,
        tempo_qpm=qpm,
        tempo_source="declared" if declared.tempo_qpm else "default",
        duration_seconds=seconds,
        notes_per_second=density,
        pitch_mean=mean,
        pitch_sd=math.sqrt(sum((p - mean) ** 2 for p in pitches) / len(pitches)),
        pitch_low=min(pitches),
        pitch_high=max(pitches),
        pitch_range=max(pitches) - min(pitches),
        valence=feeling.valence,
        arousal=feeling.arousal,
        quadrant=feeling.quadrant,
        pitch_class_entropy=metrics.pitch_class_entropy(pitches),
        scale_consistency=metrics.scale_consistency(pitches),
        repetition=metrics.repetition(_bar_contents(e) for e in part_events),
        step_share=metrics.step_share(melodies),
        leap_share=metrics.leap_share(melodies),
        duration_entropy=metrics.duration_entropy([e.end - e.onset for e in events if e.attack]),
    )


@dataclass(frozen=True)
class _NoteEvent:
    """A sounding note or chord: onset and end in quarter notes from the start of its part,
    its MIDI pitches, and whether it is an attack (not a tied continuation)."""

    onset: float
    end: float
    midis: tuple[int, ...]
    attack: bool
    bar: int  # index of the written measure it starts in
    onset_in_bar: float


def _note_events(part: Stream) -> list[_NoteEvent]:
    """The sounding notes and chords of a part, reading the voices inside measures."""
    from music21 import stream

    measures = list(part.getElementsByClass(stream.Measure)) or [part]
    events = []
    for bar, measure in enumerate(measures):
        base = float(measure.offset) if isinstance(measure, stream.Measure) else 0.0
        holders = [(measure, 0.0)] + [(voice, float(voice.offset)) for voice in measure.voices]
        for holder, shift in holders:
            for element in holder.notes:
                if not sounds(element):
                    continue
                onset = base + shift + float(element.offset)
                events.append(
                    _NoteEvent(
                        onset=onset,
                        end=onset + float(element.quarterLength),
                        midis=tuple(p.midi for p in element.pitches),
                        attack=is_attack(element),
                        bar=bar,
                        onset_in_bar=shift + float(element.offset),
                    )
                )
    return events


def _melody(events: list[_NoteEvent]) -> list[int]:
    """The highest pitch at each attack onset of one part, in time order."""
    top: dict[float, int] = {}
    for event in events:
        if event.attack:
            top[event.onset] = max(top.get(event.onset, -1), *event.midis)
    return [top[onset] for onset in sorted(top)]


def _bar_contents(events: list[_NoteEvent]) -> list[tuple | None]:
    """Per written bar of a part: its attacks as (onset in bar, pitches, length), or None."""
    if not events:
        return []
    contents: list[list[tuple]] = [[] for _ in range(max(e.bar for e in events) + 1)]
    for event in events:
        if event.attack:
            contents[event.bar].append((round(event.onset_in_bar, 4), event.midis, round(event.end - event.onset, 4)))
    return [tuple(sorted(bar)) if bar else None for bar in contents]


def _analyze_key(score: Score) -> tuple[str, str]:
    """Tonic ("Bb") and mode of music21's default key analysis (Aarden-Essen weights, as in
    `score.analyze('key')`), without building the 23 alternative Key objects that
    `analyze` adds and that cost 25 times the analysis itself."""
    from music21.analysis.discrete import AardenEssen

    (tonic, mode, _correlation), _color = AardenEssen().process(score.flatten(), storeAlternatives=False)
    return tonic.name.replace("-", "b"), mode


def _closing_key(declared: Declared, analyzed_tonic: str, analyzed_mode: str) -> tuple[str, str]:
    """Tonic and mode the ending is judged in: the last declared key with a tonic and a
    mode (the mode resolved as for valence), else the analyzed key."""
    final = declared.final_key
    if final is None or final.tonic is None or final.mode is None:
        return analyzed_tonic, analyzed_mode
    return final.tonic, resolve_mode(final, analyzed_tonic, analyzed_mode)[0]


def _ending(events: list[_NoteEvent], key: tuple[str, str]) -> tuple[bool, bool]:
    """Whether the pitches sounding at the last onset are all in the tonic triad, and
    whether the lowest of them is the tonic."""
    tonic, mode = key
    last = max(event.onset for event in events)
    sounding = [midi for e in events if e.onset <= last < e.end or e.onset == last for midi in e.midis]
    triad = tonic_triad(tonic, mode)
    return all(midi % 12 in triad for midi in sounding), min(sounding) % 12 == pitch_class(tonic)


def _meter(score: Score) -> str | None:
    """The first time signature, as written ("6/8"); None without one (ABC `M:none`)."""
    from music21 import meter

    signature = score.recurse().getElementsByClass(meter.TimeSignature).first()
    return signature.ratioString if signature is not None else None
