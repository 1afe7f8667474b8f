"""Round-trip fidelity of musegen's conversions on music21's bundled corpus.

    python benchmarks/convert_fidelity.py [--abc-tunes 500] [--scores 50] [--seed 0] [--failures]

Samples ABC tunes and MusicXML/Humdrum scores deterministically, round-robin across the
corpus collections (and takes every multi-voice ABC tune, since there are few), converts each through the directions below, and prints, per direction,
the share of pieces whose music survives exactly (`musegen_cli.notation.fidelity`: per part,
every note's onset, duration and MIDI pitches, and ties on single notes; grace notes and
chord symbols excluded) and the pieces converted per second. A piece whose conversion raises
counts as not exact. Pieces music21 cannot read in the first place, and scores whose stored
durations contradict their own notation (see `inconsistent_duration`), are listed, not scored.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from musegen_cli.notation.abc_writer import score_to_abc
from musegen_cli.notation.conversion import to_midi, to_musicxml
from musegen_cli.notation.fidelity import compare_scores, score_events
from musegen_cli.notation.formats import EXTENSIONS, parse_score, split_abc_tunes

SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
MULTI_VOICE_TUNES = "ABC → MusicXML → ABC, multi-voice tunes (all)"


@dataclass
class Direction:
    """Tally of one conversion direction."""

    name: str
    goal: float | None = None
    total: int = 0
    exact: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def run(self, label: str, trip: Callable[[], tuple[bool, str]]) -> None:
        start = time.perf_counter()
        try:
            ok, reason = trip()
        except Exception as exc:  # any failure of a conversion counts against it
            ok, reason = False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
        self.seconds += time.perf_counter() - start
        self.total += 1
        if ok:
            self.exact += 1
        else:
            self.failures.append(f"{label}: {reason}")


def corpus_name(path: Path) -> str:
    """The path inside music21's corpus folder, e.g. bach/bwv66.6.mxl."""
    parts = path.parts
    return "/".join(parts[parts.index("corpus") + 1 :]) if "corpus" in parts else path.name


def collection(path: Path) -> str:
    return corpus_name(path).split("/")[0]


def round_robin(groups: dict[str, list], rng: random.Random) -> Iterator:
    """Items from each group in turn (each group shuffled), until all are taken."""
    pools = {name: rng.sample(items, len(items)) for name, items in sorted(groups.items())}
    while any(pools.values()):
        for name in sorted(pools):
            if pools[name]:
                yield pools[name].pop()


def corpus_tunes(paths: list[Path]) -> dict[str, list[tuple[str, str]]]:
    """Every tune of the ABC files, labelled file#number, grouped by collection."""
    groups: dict[str, list] = defaultdict(list)
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        for index, tune in enumerate(split_abc_tunes(text), 1):
            groups[collection(path)].append((f"{corpus_name(path)}#{index}", tune))
    return groups


def sample_scores(paths: list[Path], rng: random.Random) -> Iterator[Path]:
    groups: dict[str, list] = defaultdict(list)
    for path in paths:
        groups[collection(path)].append(path)
    return round_robin(groups, rng)


def is_single_voice(score) -> bool:
    from music21 import stream

    if len(score_events(score)) != 1:
        return False
    return all(len(m.voices) <= 1 for m in score.recurse().getElementsByClass(stream.Measure))


def inconsistent_duration(score) -> str | None:
    """A note whose stored duration is its notated value (type, dots, tuplets) plus a
    rounding error, if any.

    Some corpus MusicXML files store durations rounded to their divisions (85/256 for a
    triplet eighth, 13/17 for a dotted eighth); no notation can write such a note back, so
    these sources are reported and left out of the scores.
    """
    from music21 import common, duration

    for note in score.recurse().notes:
        written = note.duration
        if written.isGrace or written.type in ("complex", "inexpressible", "zero"):
            continue
        implied = Fraction(common.opFrac(duration.Duration(type=written.type, dots=written.dots).quarterLength))
        for tuplet in written.tuplets:
            implied *= Fraction(tuplet.numberNotesNormal, tuplet.numberNotesActual)
        stored = Fraction(common.opFrac(note.quarterLength))
        if implied != stored and abs(implied - stored) < Fraction(1, 64):  # a rounding error
            return f"a {written.type} note lasting {stored} quarters"
    return None


def same(expected, actual) -> tuple[bool, str]:
    result = compare_scores(expected, actual)
    return result.same, result.reason


def abc_trips(tunes: Iterator[tuple[str, str]], limit: int, table: dict[str, Direction], unreadable: Counter) -> set:
    """Every direction for the first `limit` tunes that music21 can read; their labels."""
    done: set[str] = set()
    for label, tune in tunes:
        if len(done) == limit:
            break
        score = readable_tune(tune, unreadable)
        if score is not None:
            done.add(label)
            tune_trips(label, tune, score, table)
    return done


def readable_tune(tune: str, unreadable: Counter):
    try:
        return parse_score(tune.encode("utf-8"), "abc")
    except Exception:
        unreadable["ABC tunes"] += 1
        return None


def via_musicxml(score) -> Callable[[], tuple[bool, str]]:
    def run() -> tuple[bool, str]:
        middle = parse_score(to_musicxml(score), "musicxml")
        return same(score, parse_score(score_to_abc(middle).encode("utf-8"), "abc"))

    return run


def tune_trips(label: str, tune: str, score, table: dict[str, Direction]) -> None:
    import mido
    from music21 import converter, stream
    from music21.midi.translate import streamToMidiFile

    def direct(layout: str) -> Callable[[], tuple[bool, str]]:
        return lambda: same(score, parse_score(score_to_abc(score, layout).encode("utf-8"), "abc"))

    def music21_midi() -> tuple[bool, str]:  # the baseline: music21's own reader and writer
        parsed = converter.parseData(tune, format="abc")
        streamToMidiFile(parsed.scores[0] if isinstance(parsed, stream.Opus) else parsed).writestr()
        return True, ""

    def musegen_midi() -> tuple[bool, str]:
        song = mido.MidiFile(file=io.BytesIO(to_midi(score)))
        notes = sum(1 for track in song.tracks for m in track if m.type == "note_on" and m.velocity)
        return notes > 0, "no notes in the MIDI file"

    if is_single_voice(score):
        table["ABC → MusicXML → ABC, single-voice tunes"].run(label, via_musicxml(score))
    else:
        table[MULTI_VOICE_TUNES].run(label, via_musicxml(score))
    table["ABC → ABC (classic), all tunes"].run(label, direct("classic"))
    table["ABC → ABC (interleaved), all tunes"].run(label, direct("interleaved"))
    table["ABC → MIDI, plain music21 (baseline)"].run(label, music21_midi)
    table["ABC → MIDI, musegen"].run(label, musegen_midi)


def other_multi_voice_trips(groups: dict, done: set, table: dict[str, Direction], unreadable: Counter) -> None:
    """The multi-voice tunes of the ABC corpus are few: all of them are measured."""
    for label, tune in (t for tunes in groups.values() for t in tunes):
        if label in done or not re.search(r"^V:", tune, re.MULTILINE):
            continue
        score = readable_tune(tune, unreadable)
        if score is not None and not is_single_voice(score):
            table[MULTI_VOICE_TUNES].run(label, via_musicxml(score))


def score_trips(paths: Iterator[Path], limit: int, table: dict[str, Direction], skipped: list[str]) -> None:
    """Round trips of the first `limit` well-formed scores."""
    from music21 import stream

    done = 0
    for path in paths:
        if done == limit:
            return
        name = corpus_name(path)
        try:
            score = parse_score(path.read_bytes(), EXTENSIONS[path.suffix.lower()])
        except Exception as exc:
            skipped.append(f"{name} (music21 cannot read it: {' '.join(str(exc).split())[:80]})")
            continue
        problem = inconsistent_duration(score)
        if problem:
            skipped.append(f"{name} (durations contradict the notation: {problem})")
            continue
        done += 1

        def trip(piece, layout: str) -> Callable[[], tuple[bool, str]]:
            def run() -> tuple[bool, str]:
                middle = parse_score(score_to_abc(piece, layout).encode("utf-8"), "abc")
                return same(piece, parse_score(to_musicxml(middle), "musicxml"))

            return run

        if is_single_voice(score):
            table["MusicXML → ABC → MusicXML, single-voice"].run(name, trip(score, "classic"))
            continue
        for layout in ("classic", "interleaved"):
            table[f"MusicXML → ABC ({layout}) → MusicXML, multi-voice"].run(name, trip(score, layout))
        for number, part in enumerate(score.parts, 1):
            alone = stream.Score([part])
            if is_single_voice(alone):
                table["MusicXML → ABC → MusicXML, single-voice"].run(f"{name} part {number}", trip(alone, "classic"))


def build_table() -> dict[str, Direction]:
    rows = [
        Direction("ABC → MusicXML → ABC, single-voice tunes", 0.98),
        Direction(MULTI_VOICE_TUNES, 0.90),
        Direction("ABC → ABC (classic), all tunes"),
        Direction("ABC → ABC (interleaved), all tunes"),
        Direction("ABC → MIDI, plain music21 (baseline)"),
        Direction("ABC → MIDI, musegen", 0.99),
        Direction("MusicXML → ABC → MusicXML, single-voice", 0.98),
        Direction("MusicXML → ABC (classic) → MusicXML, multi-voice", 0.90),
        Direction("MusicXML → ABC (interleaved) → MusicXML, multi-voice", 0.90),
    ]
    return {row.name: row for row in rows}


def print_table(table: dict[str, Direction], unreadable: Counter, skipped: list[str], show_failures: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    out = Table(title="musegen convert: round-trip fidelity (exact pitches and durations, per part)")
    for column in ("direction", "pieces", "exact", "exact %", "goal", "pieces/s"):
        out.add_column(column, justify="left" if column == "direction" else "right")
    for row in table.values():
        share = row.exact / row.total if row.total else 0.0
        goal = f"≥ {row.goal:.0%}" if row.goal is not None else ""
        met = "" if row.goal is None or not row.total else (" ✓" if share >= row.goal else " ✗")
        rate = row.total / row.seconds if row.seconds else 0.0
        shown = f"{share:.1%}{met}" if row.total else "–"
        out.add_row(row.name, str(row.total), str(row.exact), shown, goal, f"{rate:.1f}" if row.total else "–")
    console.print(out)
    if unreadable:
        console.print("not readable by music21 (not scored): " + ", ".join(f"{n} {k}" for k, n in unreadable.items()))
    if skipped:
        console.print("scores left out:")
        for reason in skipped:
            console.print(f"  {reason}", markup=False)
    for row in table.values():
        if row.failures and show_failures:
            console.print(f"\n[bold]{row.name}[/bold]: {len(row.failures)} not exact")
            for failure in row.failures:
                console.print(f"  {failure}", markup=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--abc-tunes", type=int, default=500, help="ABC tunes to sample (default 500)")
    parser.add_argument("--scores", type=int, default=50, help="MusicXML/Humdrum scores to sample (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--failures", action="store_true", help="list every piece that is not exact, with why")
    args = parser.parse_args(argv)

    import warnings

    from music21 import corpus

    warnings.filterwarnings("ignore")
    rng = random.Random(args.seed)
    paths = list(corpus.getCorePaths())
    table = build_table()
    unreadable: Counter = Counter()
    groups = corpus_tunes([p for p in paths if p.suffix == ".abc"])
    done = abc_trips(round_robin(groups, rng), args.abc_tunes, table, unreadable)
    other_multi_voice_trips(groups, done, table, unreadable)
    skipped: list[str] = []
    scores = sample_scores([p for p in paths if p.suffix in SCORE_SUFFIXES], rng)
    score_trips(scores, args.scores, table, skipped)
    print_table(table, unreadable, skipped, args.failures)


if __name__ == "__main__":
    main()
