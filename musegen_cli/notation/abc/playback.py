"""What a tune plays: bars in playing order, then notes with onsets, ties joined.

Playing order follows the ABC 2.1 standard, and abc2midi where the standard leaves a choice:

- `|:` starts a repeated section; so do the top of the tune, the start of a `P:` part
  (when the header gives a play order; otherwise `P:` is only a label, as in abc2midi),
  and the bar after a repeat that has been played out. A `:|` with no `|:` therefore repeats
  from the end of the previous repeat (`C D|C D:|E F|E F:|` plays each pair twice), not
  from the top; `||` and `|]` do not start a section (abc2midi agrees).
- `::`, `:|:` and `:||:` close one repeat and open the next.
- Endings `[1`, `|2`, `[1,3`, `[1-3`: on pass n the music skips every ending that does not
  name n; a `:|` repeats while a later pass has an ending, or once when there are none.
- With a `P:` play order in the header (`P:AABB`), the body's parts are played in that order,
  each with its own repeats; music before the first part is played first.
- Grace notes take their time from the note after them, a quarter of their written length
  each (abc2midi's default), at most half of that note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from musegen_cli.notation.abc.model import Bar, ChordSymbol, Note, Rest, TempoChange, Tune, Voice

#: Grace notes sound for this share of their written length.
GRACE_SHARE = Fraction(1, 4)


@dataclass
class Sounding:
    """One played note: onset and length in whole notes, MIDI pitch, voice index."""

    start: Fraction
    length: Fraction
    pitch: int
    voice: int
    grace: bool = False


@dataclass
class Performance:
    """Everything a tune plays, voice by voice, on one time line (whole notes)."""

    notes: list[Sounding] = field(default_factory=list)
    chord_symbols: list[tuple[Fraction, str, int]] = field(default_factory=list)
    tempos: list[tuple[Fraction, float]] = field(default_factory=list)
    end: Fraction = Fraction(0)


def perform(tune: Tune) -> Performance:
    """Play every voice of `tune` from the top (see the module docstring)."""
    performance = Performance()
    if tune.tempo:
        performance.tempos.append((Fraction(0), tune.tempo))
    for index, voice in enumerate(tune.voices):
        bars = played_bars(voice.bars, tune.play_order)
        _play_voice(bars, voice, index, performance, record_tempo=index == 0)
    return performance


def played_bars(bars: list[Bar], play_order: list[str]) -> list[Bar]:
    """The bars of one voice in playing order: parts, repeats and endings expanded."""
    if not play_order:
        return expand_repeats(bars)  # without a play order, `P:` labels are only labels
    parts = _split_parts(bars)
    by_label: dict[str, list[Bar]] = {}
    order: list[list[Bar]] = []
    for label, section in parts:
        if label is None:
            order.append(section)  # music before the first part
        else:
            by_label.setdefault(label[:1], []).extend(section)
    if not any(label in by_label for label in play_order):
        return expand_repeats(bars)  # a play order naming no part of the body is not one
    order.extend(by_label[label] for label in play_order if label in by_label)
    return [bar for section in order for bar in expand_repeats(section)]


def _split_parts(bars: list[Bar]) -> list[tuple[str | None, list[Bar]]]:
    parts: list[tuple[str | None, list[Bar]]] = []
    for bar in bars:
        if bar.part is not None or not parts:
            parts.append((bar.part, []))
        parts[-1][1].append(bar)
    return parts


def expand_repeats(bars: list[Bar]) -> list[Bar]:
    """One section's bars with `|:` `:|` and endings played out."""
    played: list[Bar] = []
    start, passage, index = 0, 1, 0
    last_ending = False
    jumps = 0
    while index < len(bars):
        bar = bars[index]
        if bar.repeat_start and not (index == start and passage > 1):
            start, passage, last_ending = index, 1, False
        if bar.ending_start:
            if passage not in bar.ending_start:
                index = _after_ending(bars, index, passage)
                continue
            last_ending = passage >= max(_section_endings(bars, start), default=1)
        played.append(bar)
        if bar.repeat_end:
            repeat = not last_ending and _repeats_again(bars, start, passage)
            if repeat and jumps < 64:
                passage, index, jumps = passage + 1, start, jumps + 1
                continue
            start, passage, last_ending = index + 1, 1, False
        elif last_ending and not bar.ending_start and not _inside_ending(bars, index):
            start, passage, last_ending = index, 1, False
        index += 1
    return played


def _section_endings(bars: list[Bar], start: int) -> set[int]:
    """Every ending number of the repeated section that begins at `start`."""
    numbers: set[int] = set()
    for index in range(start, len(bars)):
        bar = bars[index]
        if index > start and bar.repeat_start:
            break
        if numbers and not bar.ending_start and not _inside_ending(bars, index) and bars[index - 1].repeat_end:
            break
        numbers.update(bar.ending_start)
    return numbers


def _inside_ending(bars: list[Bar], index: int) -> bool:
    """Whether bar `index` continues an ending begun in an earlier bar (it has not been
    closed by a repeat, a double bar or a new section)."""
    for previous in range(index - 1, -1, -1):
        bar = bars[previous]
        if bar.repeat_end or bar.final or bars[previous + 1].repeat_start:
            return False
        if bar.ending_start:
            return True
    return False


def _repeats_again(bars: list[Bar], start: int, passage: int) -> bool:
    endings = _section_endings(bars, start)
    return passage + 1 in endings if endings else passage == 1


def _after_ending(bars: list[Bar], index: int, passage: int) -> int:
    """Where the music goes on after skipping the ending that starts at `index`."""
    for later in range(index + 1, len(bars)):
        bar = bars[later]
        if bar.ending_start:
            if passage in bar.ending_start:
                return later
            continue
        if bar.repeat_start or bars[later - 1].repeat_end or bars[later - 1].final:
            return later
    return len(bars)


def _play_voice(bars: list[Bar], voice: Voice, index: int, performance: Performance, record_tempo: bool) -> None:
    time = Fraction(0)
    open_ties: dict[int, Sounding] = {}
    graces: list[Note] = []
    for bar in bars:
        for event in bar.events:
            if isinstance(event, Note):
                if event.grace:
                    graces.append(event)
                    continue
                onset, length = time, event.length
                if graces:
                    onset = _play_graces(graces, time, event.length, voice, index, performance)
                    graces = []
                time += event.length
                open_ties = _sound(event, onset, time - onset, length, voice, index, open_ties, performance)
            elif isinstance(event, Rest):
                time += event.length
                open_ties = {}
            elif isinstance(event, ChordSymbol):
                performance.chord_symbols.append((time, event.name, index))
            elif isinstance(event, TempoChange) and record_tempo:
                performance.tempos.append((time, event.quarter_notes_per_minute))
    performance.end = max(performance.end, time)


def _play_graces(
    graces: list[Note], time: Fraction, main: Fraction, voice: Voice, index: int, performance: Performance
) -> Fraction:
    lengths = [grace.length * GRACE_SHARE for grace in graces]
    total = sum(lengths, Fraction(0))
    if total > main / 2:
        lengths = [length * main / 2 / total for length in lengths]
    for grace, length in zip(graces, lengths):
        performance.notes.append(Sounding(time, length, _midi(grace.pitches[0].midi, voice), index, grace=True))
        time += length
    return time


def _sound(
    note: Note,
    onset: Fraction,
    advance: Fraction,
    written: Fraction,
    voice: Voice,
    index: int,
    open_ties: dict[int, Sounding],
    performance: Performance,
) -> dict[int, Sounding]:
    """Sound each pitch of a note or chord, joining it to a tie that waits for that pitch."""
    still_open: dict[int, Sounding] = {}
    for pitch, length, tied in zip(note.pitches, note.lengths, note.tie_out):
        midi = _midi(pitch.midi, voice)
        sounding_length = length - (written - advance)
        held = open_ties.get(midi)
        if held is not None:
            held.length = onset + sounding_length - held.start
            sounding = held
        else:
            sounding = Sounding(onset, sounding_length, midi, index)
            performance.notes.append(sounding)
        if tied:
            still_open[midi] = sounding
    return still_open


def _midi(pitch: int, voice: Voice) -> int:
    return max(0, min(127, pitch + voice.transpose))
