"""Notation: reading ABC, MusicXML, MIDI and Humdrum; writing ABC, MusicXML, MIDI, WAV, SVG.

Submodules keep heavy imports (music21, verovio, numpy) inside functions, so importing this
package is cheap. The usual entry points:

- `parse_score(data, fmt)` / `detect_format(name, data)` / `split_abc_tunes(text)`: reading;
- `write(score, target)` / `convert(data, source, target)`: writing (`TARGETS` lists them);
- `score_to_abc(score, layout)`: ABC in classic or interleaved ([V:n] per bar) layout;
- `compare_scores(a, b)`: whether two scores hold the same notes (see `fidelity`).
"""

from musegen_cli.notation.abc_writer import score_to_abc
from musegen_cli.notation.conversion import TARGETS, convert, write
from musegen_cli.notation.fidelity import compare_scores
from musegen_cli.notation.formats import detect_format, parse_score, split_abc_tunes

__all__ = [
    "TARGETS",
    "compare_scores",
    "convert",
    "detect_format",
    "parse_score",
    "score_to_abc",
    "split_abc_tunes",
    "write",
]
