"""How faithfully musegen plays real ABC tunes, measured against abc2midi.

    python benchmarks/abc_fidelity.py --corpus DIR_OR_FILE|music21 [--corpus ...]
        [--reference abc2midi|none] [--limit N] [--mismatches 20] [--json]

Every `.abc` file under each `--corpus` (or the file itself; `music21` names the ABC files
of music21's bundled corpus) is split into tunes (`split_abc_tunes`), `--limit` of them
taken evenly spread over the corpus. Each tune is made melody only
(`abc_reference.melody_only`: chord symbols, annotations, grace notes, rolls, trills,
staccato and other performed ornaments removed, so that no tool's playing conventions
decide) and converted by `musegen_cli.notation.conversion.convert(data, "abc", "midi")`,
and by abc2midi. Per corpus, the table gives:

- converted: the share of tunes musegen writes MIDI for (goal >= 99.5%);
- equal to abc2midi: the share, of the tunes abc2midi plays, whose notes are the same in
  both MIDI files: every note's pitch, onset and duration (quarter notes, within 1/64),
  all channels but the drums merged (goal >= 98%); a tune musegen cannot convert counts
  as not equal;
- hanging notes: the share of musegen's MIDI files that leave a note sounding (a note_on
  never switched off, or struck again while it sounds; goal 0);
- tunes per second and milliseconds per tune of musegen's reading and MIDI writing, in
  this process (imports already done), beside abc2midi's (a new process per tune).

Then, per corpus, the mismatches (tune, first differing note, what abc2midi plays against
what musegen plays) and the tunes musegen cannot convert, with its error.

abc2midi is played as the ABC 2.1 standard writes the notes, not as a performer
(`abc_reference`, whose doc lists each choice): `-NFER -NGRA -NGUI`, and
`%%MIDI chordattack 0` and `%%MIDI ratio 3 1` after the X: line; `%%MIDI` commands other
than program/channel/transpose dropped; the tunebook's file header moved below X:.
Without abc2midi (`apt-get install abcmidi`), or with `--reference none`, the table has
musegen's columns only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.abc_reference import (  # noqa: E402
    abc2midi_midi,
    find_abc2midi,
    first_difference,
    hanging_notes,
    melody_only,
    midi_notes,
)
from musegen_cli.notation.formats import split_abc_tunes  # noqa: E402

GOAL_CONVERTED = 0.995
GOAL_EQUAL = 0.98
console = Console(stderr=True)


@dataclass
class Tune:
    """One tune of a corpus: where it comes from, and its text."""

    source: str
    label: str
    text: str


@dataclass
class CorpusResult:
    """The tally of one corpus."""

    corpus: str
    tunes: int = 0
    converted: int = 0
    hanging: int = 0
    referenced: int = 0
    equal: int = 0
    musegen_seconds: list[float] = field(default_factory=list)
    slowest_tune: str = ""
    abc2midi_seconds: list[float] = field(default_factory=list)
    mismatches: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    reference_failures: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def share(part: int, whole: int) -> float | None:
            return part / whole if whole else None

        total = sum(self.musegen_seconds)
        return {
            "corpus": self.corpus,
            "tunes": self.tunes,
            "converted": share(self.converted, self.tunes),
            "equal_to_abc2midi": share(self.equal, self.referenced),
            "abc2midi_played": self.referenced,
            "hanging_note_files": share(self.hanging, self.converted),
            "tunes_per_second": self.tunes / total if total else None,
            "ms_per_tune": 1000 * total / self.tunes if self.tunes else None,
            "median_ms_per_tune": 1000 * statistics.median(self.musegen_seconds) if self.musegen_seconds else None,
            "slowest_ms": 1000 * max(self.musegen_seconds) if self.musegen_seconds else None,
            "slowest_tune": self.slowest_tune,
            "abc2midi_ms_per_tune": (
                1000 * statistics.mean(self.abc2midi_seconds) if self.abc2midi_seconds else None
            ),
        }


def abc_files(corpus: str) -> list[Path]:
    """The ABC files a --corpus value names, sorted."""
    if corpus == "music21":
        from music21 import corpus as music21_corpus

        return sorted(p for p in music21_corpus.getCorePaths() if p.suffix == ".abc")
    path = Path(corpus)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc" and p.is_file())
    raise FileNotFoundError(f"no such file or folder: {corpus}")


def read_tunes(files: list[Path], root: Path) -> list[Tune]:
    """Every tune of the files, named by the file's path below `root`."""
    tunes = []
    for path in files:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        for text_of_tune in split_abc_tunes(text):
            tunes.append(Tune(name, f"{name} {_tune_name(text_of_tune)}", text_of_tune))
    return tunes


def _tune_name(tune: str) -> str:
    """`X:3 "Title"` from the tune's fields."""
    number = next((line[2:].strip() for line in tune.split("\n") if line.startswith("X:")), "?")
    title = next((line[2:].strip() for line in tune.split("\n") if line.startswith("T:")), "")
    return f'X:{number} "{title}"'


def spread(items: list[Tune], limit: int | None) -> list[Tune]:
    """`limit` items evenly spaced over the list (all of them without a limit)."""
    if limit is None or limit >= len(items):
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def measure(tune: Tune, result: CorpusResult, abc2midi: str | None) -> None:
    """Convert one tune with musegen as it is (converted, hanging notes, speed), and its
    melody-only copy with musegen and abc2midi (equal notes); add the outcome to `result`."""
    result.tunes += 1
    start = time.perf_counter()
    midi, problem = musegen_midi(tune.text)
    seconds = time.perf_counter() - start
    if seconds > max(result.musegen_seconds, default=0.0):
        result.slowest_tune = tune.label
    result.musegen_seconds.append(seconds)
    if midi is None:
        result.failures.append({"tune": tune.label, "error": problem})
    else:
        result.converted += 1
        result.hanging += hanging_notes(midi) > 0
    if abc2midi is None:
        return
    melody = melody_only(tune.text)
    start = time.perf_counter()
    try:
        theirs = midi_notes(abc2midi_midi(melody, abc2midi))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        result.reference_failures.append({"tune": tune.label, "error": str(exc)[:200]})
        return
    finally:
        result.abc2midi_seconds.append(time.perf_counter() - start)
    if not theirs:
        result.reference_failures.append({"tune": tune.label, "error": "abc2midi played no notes"})
        return
    result.referenced += 1
    midi, problem = musegen_midi(melody)
    if midi is None:
        result.mismatches.append({"tune": tune.label, "notes": f"{len(theirs)} vs -", "first_difference": problem})
        return
    ours = midi_notes(midi)
    difference = first_difference(theirs, ours)
    if difference is None:
        result.equal += 1
    else:
        result.mismatches.append(
            {"tune": tune.label, "notes": f"{len(theirs)} vs {len(ours)}", "first_difference": difference.describe()}
        )


def musegen_midi(tune: str) -> tuple[bytes | None, str]:
    """musegen's MIDI file of one tune, or None and why not."""
    from musegen_cli.notation.conversion import convert

    try:
        piece = convert(tune.encode("utf-8"), "abc", "midi")[0]
    except Exception as exc:  # any failure of a conversion counts against it
        return None, f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    if piece.error is not None:
        return None, piece.error[:200]
    return piece.outputs[0], ""


def run_corpus(corpus: str, limit: int | None, abc2midi: str | None) -> CorpusResult:
    files = abc_files(corpus)
    root = files[0].parents[1] if corpus == "music21" and files else Path(corpus)
    tunes = spread(read_tunes(files, root), limit)
    result = CorpusResult(corpus if corpus == "music21" else Path(corpus).name)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(corpus, total=len(tunes))
        for tune in tunes:
            measure(tune, result, abc2midi)
            progress.advance(task)
    return result


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(results: list[CorpusResult], with_reference: bool, mismatches: int) -> None:
    out = Console(width=max(Console().width, 120))
    table = Table(title="ABC -> MIDI: musegen" + (" against abc2midi" if with_reference else ""))
    columns = ["corpus", "tunes", "converted"] + (["= abc2midi"] if with_reference else [])
    columns += ["hanging notes", "tunes/s", "ms/tune", "median", "slowest"] + (["abc2midi ms/tune"] if with_reference else [])
    for name in columns:
        table.add_column(name, justify="left" if name == "corpus" else "right")
    for result in results:
        s = result.summary()
        row = [result.corpus, str(s["tunes"]), _percent(s["converted"])]
        if with_reference:
            row.append(f"{_percent(s['equal_to_abc2midi'])} of {s['abc2midi_played']}")
        row += [_percent(s["hanging_note_files"]), _number(s["tunes_per_second"])]
        row += [_number(s[key], 0) for key in ("ms_per_tune", "median_ms_per_tune", "slowest_ms")]
        if with_reference:
            row.append(_number(s["abc2midi_ms_per_tune"]))
        table.add_row(*row)
    out.print(table)
    out.print(
        f"goals: converted >= {GOAL_CONVERTED:.1%}, equal to abc2midi >= {GOAL_EQUAL:.0%} (melody only), "
        "no MIDI file with a hanging note; ms/tune is musegen's reading and MIDI writing of the tune as given"
    )
    for result in results:
        if result.slowest_tune:
            out.print(f"{result.corpus}: slowest tune {result.slowest_tune}", markup=False, soft_wrap=True)
    for result in results:
        if result.mismatches:
            out.print(f"\n[bold]{result.corpus}[/bold]: {len(result.mismatches)} tunes whose notes differ from abc2midi's")
            for item in result.mismatches[:mismatches]:
                out.print(f"  {item['tune']} ({item['notes']} notes): {item['first_difference']}", markup=False, soft_wrap=True)
            if len(result.mismatches) > mismatches:
                out.print(f"  ... and {len(result.mismatches) - mismatches} more (--mismatches N shows more)")
        if result.failures:
            out.print(f"\n[bold]{result.corpus}[/bold]: {len(result.failures)} tunes musegen does not convert")
            for item in result.failures[:mismatches]:
                out.print(f"  {item['tune']}: {item['error']}", markup=False, soft_wrap=True)
        if result.reference_failures:
            out.print(f"\n{result.corpus}: {len(result.reference_failures)} tunes abc2midi does not play (not compared)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", required=True, help="folder, .abc file, or 'music21'")
    parser.add_argument("--reference", choices=("abc2midi", "none"), default="abc2midi")
    parser.add_argument("--limit", type=int, default=None, help="tunes per corpus, evenly spread")
    parser.add_argument("--mismatches", type=int, default=20, help="how many mismatches to list per corpus")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    abc2midi = None
    if args.reference == "abc2midi":
        abc2midi = find_abc2midi()
        if abc2midi is None:
            console.print("abc2midi not found: install it with `apt-get install abcmidi`; showing musegen's columns only")
    try:
        results = [run_corpus(corpus, args.limit, abc2midi) for corpus in args.corpus]
    except FileNotFoundError as exc:
        console.print(f"abc_fidelity: error: {exc}")
        return 2
    if args.json:
        report = [
            {**r.summary(), "mismatches": r.mismatches, "failures": r.failures, "reference_failures": r.reference_failures}
            for r in results
        ]
        print(json.dumps({"reference": abc2midi and "abc2midi", "corpora": report}, indent=2))
    else:
        print_report(results, abc2midi is not None, args.mismatches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
