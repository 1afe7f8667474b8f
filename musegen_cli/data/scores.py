"""Scores (MusicXML, Humdrum, MIDI) as training ABC: interleaved multi-voice text plus labels.

A score becomes one piece, whole (the trainer crops long pieces): `notation.score_to_abc` in
the interleaved layout (`[V:1]bar|[V:2]bar|...` per line, NotaGen's form), with the title
line dropped so that only music remains; `%abc-2.1`, `%%score` and the `V:` lines with their
clefs and part names are kept, because they say how the voices are read and grouped.

Instrumentation is inferred from the part names (and, when names say nothing, the period):

- 3 or more vocal parts (Soprano, Alto, Tenor, Bass, Cantus, Quinto, Choir, ...), with or
  without doubling instruments or continuo: "Choral";
- 1 or 2 vocal parts (a song with piano, an aria): "Vocal";
- only keyboard parts (Piano, Organ, Harpsichord; a piano's two staves are two parts):
  "Keyboard";
- 6 or more instrumental parts: "Orchestral"; 2 to 5 (a string quartet, a violin sonata,
  a trio sonata): "Chamber"; one non-keyboard instrument: "Solo";
- parts with no informative name ("MusicXML Part", "Part 1"): Medieval and Renaissance
  pieces are vocal polyphony in this corpus, so "Choral" (3 or more parts) or "Vocal"; later
  ones with 1 or 2 such parts "Keyboard", with more "Chamber".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from music21.stream import Score

INSTRUMENTATIONS = ("Choral", "Vocal", "Keyboard", "Chamber", "Orchestral", "Solo")
_VOCAL = re.compile(
    r"\b(soprano|sopran|alto|altus|alt|tenor|tenore|bass|basso|bassus|baritone?|mezzo|cantus|canto|quinto|quintus|"
    r"sextus|superius|discantus|contratenor|triplum|motetus|voice|voce|vox|gesang|choir|chorus|coro|vocal|singstimme)\b"
)
_KEYBOARD = re.compile(r"\b(piano|pianoforte|klavier|clavier|harpsichord|cembalo|organ|organo|keyboard|fortepiano)\b")
_INSTRUMENT = re.compile(
    r"(violin|violino|viola|violoncello|cello|contrabass|double bass|violone|flute|flauto|oboe|clarinet|klarinette|"
    r"bassoon|fagott|horn|corno|trumpet|tromba|trombone|timpani|harp|guitar|lute|recorder|strings)"
)
_EARLY_PERIODS = {"Medieval", "Renaissance"}


def _kind(name: str) -> str:
    lowered = name.lower()
    if _INSTRUMENT.search(lowered):
        return "instrument"  # before vocal: "Double Bass", "Bass Clarinet" are not singers
    if _KEYBOARD.search(lowered):
        return "keyboard"
    if _VOCAL.search(lowered):
        return "vocal"
    return "unknown"


def instrumentation(part_names: list[str], period: str | None = None) -> str:
    """The instrumentation label of a score with these part names (module docstring)."""
    kinds = [_kind(name or "") for name in part_names] or ["unknown"]
    vocal = kinds.count("vocal")
    if vocal >= 3:
        return "Choral"
    if vocal:
        return "Vocal"
    if all(kind == "unknown" for kind in kinds):
        if period in _EARLY_PERIODS:
            return "Choral" if len(kinds) >= 3 else "Vocal"
        return "Keyboard" if len(kinds) <= 2 else "Chamber"
    if all(kind in ("keyboard", "unknown") for kind in kinds):
        return "Keyboard"
    players = len(kinds) - max(0, kinds.count("keyboard") - 1)  # a piano's two staves are one player
    if players >= 6:
        return "Orchestral"
    return "Solo" if players == 1 else "Chamber"


@dataclass(frozen=True)
class ScoreText:
    """A score as training ABC, with what was read off its parts."""

    abc: str
    parts: int
    part_names: tuple[str, ...]


def read_score(path: Path) -> Score:
    """Parse a score file with `notation.parse_score`, falling back to music21's own file
    reader (which knows variants such as MusicXML compressed without a container)."""
    from musegen_cli.errors import UserError
    from musegen_cli.notation.formats import detect_format, parse_score

    data = path.read_bytes()
    try:
        return parse_score(data, detect_format(path.name, data))
    except UserError:
        from music21 import converter, stream

        parsed = converter.parse(str(path))
        if isinstance(parsed, stream.Opus):
            parsed = parsed.scores[0]
        if not isinstance(parsed, stream.Score) or not parsed.recurse().notes.first():
            raise
        return parsed


def score_text(score: Score) -> ScoreText:
    """The interleaved ABC of a score, title dropped (module docstring)."""
    from musegen_cli.notation.abc_writer import score_to_abc

    abc = score_to_abc(score, "interleaved")
    lines = [line for line in abc.split("\n") if not re.match(r"^[TCZNSOABHDFGIRW]:", line)]
    names = tuple(str(part.partName or "") for part in score.parts)
    return ScoreText("\n".join(lines), len(names), names)


def convert_score_file(path: Path, period: str | None = None) -> tuple[ScoreText, str]:
    """(training text, instrumentation) of one score file; raises on unreadable files."""
    text = score_text(read_score(path))
    return text, instrumentation(list(text.part_names), period)
