"""Converting one input (bytes in a known format) into the bytes of each output piece.

A multi-tune ABC file is several pieces; every other input is one. Each piece converts on
its own, so one bad tune does not stop the others (its error is kept with it). Writing to
files is the caller's job: this module only produces bytes.
"""

from __future__ import annotations

import contextlib
import re
from fractions import Fraction
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from musegen_cli.errors import UserError
from musegen_cli.notation.abc_writer import Layout
from musegen_cli.notation.formats import decode_text, one_line, parse_score, split_abc_tunes
from musegen_cli.notation.synth import Engine

if TYPE_CHECKING:
    from music21 import stream

#: Formats musegen can write, and the file extension of each.
TARGETS = {"abc": ".abc", "musicxml": ".musicxml", "midi": ".mid", "wav": ".wav", "svg": ".svg"}


@dataclass
class Piece:
    """One converted piece: a label that tells it apart within its input (the tune's X:
    number for multi-tune ABC, else empty), its output files' bytes, or the error."""

    label: str
    outputs: list[bytes] = field(default_factory=list)
    error: str | None = None


def convert(
    data: bytes,
    source: str,
    target: str,
    *,
    layout: Layout = "classic",
    synth: Engine = "auto",
    chords: bool = False,
) -> list[Piece]:
    """Convert `data` (in format `source`) to `target`; one Piece per tune or score.

    Raises UserError when the input as a whole is unusable (empty, not text, no tunes).
    SVG may give several outputs per piece (one per page). ABC plays (MIDI, WAV) straight
    from musegen's ABC reader; `chords` adds its chord symbols on their own track.
    """
    if target not in TARGETS:
        raise UserError(f"cannot write {target!r}; formats: {', '.join(TARGETS)}")
    if source == "abc":
        return _convert_abc(data, target, layout, synth, chords)
    score = parse_score(data, source)
    return [Piece("", write(score, target, layout=layout, synth=synth))]


def _convert_abc(data: bytes, target: str, layout: Layout, synth: Engine, chords: bool) -> list[Piece]:
    if not data.strip():
        raise UserError("the input is empty")
    tunes = split_abc_tunes(decode_text(data, "abc"))
    labels = _tune_labels(tunes)
    pieces = []
    for label, tune in zip(labels, tunes):
        try:
            outputs = _write_abc_tune(tune, target, layout, synth, chords)
            pieces.append(Piece(label, outputs))
        except UserError as exc:
            pieces.append(Piece(label, error=str(exc)))
    if len(pieces) == 1:
        pieces[0].label = ""
    good = [p for p in pieces if p.error is None]
    if target == "abc" and len(good) > 1:
        joined = Piece("", [b"\n".join(p.outputs[0] for p in good)])
        return [joined, *(p for p in pieces if p.error is not None)]
    return pieces


def _write_abc_tune(tune: str, target: str, layout: Layout, synth: Engine, chords: bool) -> list[bytes]:
    """One tune's output: what it plays from the reader's performance (MIDI, WAV), the rest
    from its written form."""
    if target in ("midi", "wav"):
        from musegen_cli.notation.abc import read_tune
        from musegen_cli.notation.abc.midi import tune_to_midi

        midi = tune_to_midi(read_tune(tune), chords=chords)
        if target == "midi":
            return [midi]
        from musegen_cli.notation.synth import midi_to_wav

        return [midi_to_wav(midi, engine=synth)]
    score = parse_score(tune.encode("utf-8"), "abc")
    return write(score, target, layout=layout, synth=synth, reference_number=_x_number(tune))


def _x_number(tune: str) -> int:
    match = re.search(r"^X:\s*(\d+)", tune, re.MULTILINE)
    return int(match.group(1)) if match else 1


def _tune_labels(tunes: list[str]) -> list[str]:
    """The X: number of each tune, or its position when X: numbers repeat."""
    numbers = [str(_x_number(t)) for t in tunes]
    if len(set(numbers)) == len(numbers):
        return numbers
    return [str(i) for i in range(1, len(tunes) + 1)]


def write(
    score: stream.Score,
    target: str,
    *,
    layout: Layout = "classic",
    synth: Engine = "auto",
    reference_number: int = 1,
) -> list[bytes]:
    """The bytes of `score` in `target` format (a list: SVG may have several pages)."""
    if target == "abc":
        from musegen_cli.notation.abc_writer import score_to_abc

        return [score_to_abc(score, layout, reference_number=reference_number).encode("utf-8")]
    if target == "musicxml":
        return [to_musicxml(score)]
    if target == "midi":
        return [to_midi(score)]
    if target == "wav":
        from musegen_cli.notation.synth import midi_to_wav

        return [midi_to_wav(to_midi(score), engine=synth)]
    from musegen_cli.notation.render import musicxml_to_svg

    return musicxml_to_svg(to_musicxml(score))


def to_musicxml(score: stream.Score) -> bytes:
    """MusicXML bytes, via music21's exporter.

    music21's exporter fills every bar shorter than its time signature with rests, which
    moves all later notes (ABC tunes often have short bars around repeats). Marking the
    shortfall as the measure's right padding (in place: it is true of the score) keeps
    short bars short. A part with no meter at all (ABC `M:none`) gets, for the export only,
    a hidden time signature in each measure that fits it (`_fit_free_measures`). It also
    writes the title "Music21 Fragment" and the composer
    "Music21" into a score that has none; `_no_invented_metadata` stops that.
    """
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    _mark_short_measures(score)
    fitted = _fit_free_measures(score)
    try:
        with _no_invented_metadata():
            return GeneralObjectExporter(score).parse()
    except Exception as exc:  # music21 raises assorted types on scores it cannot notate
        raise UserError(f"cannot write MusicXML: {one_line(exc)}") from exc
    finally:
        for measure, signature in fitted:
            measure.remove(signature)


@contextlib.contextmanager
def _no_invented_metadata() -> Iterator[None]:
    """Empty music21's fallback title and author (`music21.defaults`) during an export: its
    exporter writes them only when the score has no title or contributor of its own."""
    from music21 import defaults

    saved = defaults.title, defaults.author
    defaults.title, defaults.author = "", ""
    try:
        yield
    finally:
        defaults.title, defaults.author = saved


def _fit_free_measures(score: stream.Score) -> list:
    """Give each measure of a part without any meter a hidden time signature of its own
    length: MusicXML has no measure without one, and music21 would cut the bar at 4/4.
    Returns what it inserted, for the caller to take out again."""
    from music21 import meter, stream

    inserted = []
    for part in score.parts:
        if part.recurse().getElementsByClass(meter.TimeSignature).first() is not None:
            continue
        for measure in part.getElementsByClass(stream.Measure):
            whole = Fraction(measure.highestTime).limit_denominator(10_000) / 4
            if whole > 0 and whole.denominator & (whole.denominator - 1) == 0 and whole.denominator <= 64:
                signature = meter.TimeSignature(f"{whole.numerator}/{whole.denominator}")
                signature.style.hideObjectOnPrint = True
                measure.insert(0, signature)
                inserted.append((measure, signature))
    return inserted


def _mark_short_measures(score: stream.Score) -> None:
    from music21 import stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if measure.timeSignature is None and measure.getContextByClass("TimeSignature") is None:
            continue
        missing = measure.barDuration.quarterLength - measure.paddingLeft - measure.highestTime
        if missing > 0 and not measure.paddingRight:
            measure.paddingRight = missing


def to_midi(score: stream.Score) -> bytes:
    """Standard MIDI file bytes.

    music21's MIDI export fails on some scores with irregular bars ("TimeSignature already
    found"): the score then goes through MusicXML and back, which regularises the bars. It
    also expands repeats and fails on badly formed ones: the last resort plays them once.
    """
    from music21.midi.translate import streamToMidiFile

    attempts = (
        lambda: score,
        lambda: parse_score(to_musicxml(score), "musicxml"),
        lambda: _without_repeats(parse_score(to_musicxml(score), "musicxml")),
    )
    problem: Exception | None = None
    for prepare in attempts:
        try:
            return streamToMidiFile(prepare()).writestr()
        except UserError:
            raise
        except Exception as exc:  # music21 raises assorted types here; try the next way
            problem = exc
    raise UserError(f"cannot write MIDI: {one_line(problem)}") from problem


def _without_repeats(score: stream.Score) -> stream.Score:
    """The score with repeat signs and endings removed (in place; it is a private copy)."""
    from music21 import bar, spanner, stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = bar.Barline("regular")
    for bracket in list(score.recurse().getElementsByClass(spanner.RepeatBracket)):
        bracket.activeSite.remove(bracket)
    return score
