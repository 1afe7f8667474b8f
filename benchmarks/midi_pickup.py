"""Does a tune's pickup (anacrusis) survive ABC -> MIDI -> musegen's MIDI reader?

    python benchmarks/midi_pickup.py [--tunes 150] [--offset 3]

Samples ABC tunes of music21's corpus (folk collections, where pickups are common), writes
each as MIDI three ways, reads it back with `parse_score` and prints, per writer:
- pickup found: of the tunes with a pickup, the share whose first bar comes back that long;
- none invented: of the tunes without one, the share that come back without one;
- bar lines: over the tunes without repeat signs (MIDI plays repeats out, so only these can
  keep their bars), the share of the ABC's bar lines that come back where the ABC puts them,
  and the share of those tunes that keep every one. MIDI cannot say where a short bar in the
  middle of a tune is, or how long a rest at the end lasts: those stay lost.
Writers: musegen's MIDI writer with the pickup marker (`notation.midi_markers`), the same
without it (what a reader must guess from: constant velocities), and abc2midi (accents).
The reader's margins were set on the tunes at offset 0 (`--offset 0`); the default sample
is another one.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mido  # noqa: E402

from benchmarks.abc_reference import abc2midi_midi, find_abc2midi  # noqa: E402
from musegen_cli.notation.conversion import to_midi  # noqa: E402
from musegen_cli.notation.formats import parse_score, split_abc_tunes  # noqa: E402
from musegen_cli.notation.midi_markers import pickup_marker  # noqa: E402

#: (collection, files to take, tunes to take from each file, every how many tunes).
COLLECTIONS = (("oneills1850", 6, 25, 7), ("essenFolksong", 4, 25, 7),
               ("nottingham-dataset", 1, 25, 7), ("ryansMammoth", 80, 1, 1))


@dataclass
class Tune:
    name: str
    text: str
    score: object
    pickup: Fraction
    bars: list[Fraction]
    repeats: bool


@dataclass
class Tally:
    pickups: int = 0
    pickups_found: int = 0
    plain: int = 0
    plain_kept: int = 0
    barred: int = 0
    bars_kept: int = 0
    bar_lines: int = 0
    bar_lines_kept: int = 0
    seconds: float = 0.0


def bar_lines(score) -> list[Fraction]:
    """Where each measure of the first part starts, and where the last one ends."""
    from music21 import stream

    measures = list(score.parts[0].getElementsByClass(stream.Measure))
    starts = [Fraction(m.offset).limit_denominator(1000) for m in measures]
    return [*starts, starts[-1] + Fraction(measures[-1].duration.quarterLength).limit_denominator(1000)]


def pickup_of(score) -> Fraction:
    """The length of the first measure when music21 pads it on the left (a pickup), else 0."""
    first = score.parts[0].getElementsByClass("Measure").first()
    return Fraction(first.duration.quarterLength).limit_denominator(1000) if first.paddingLeft else Fraction(0)


def sample(limit: int, offset: int) -> list[Tune]:
    from music21 import corpus

    tunes: list[Tune] = []
    for collection, files, per_file, step in COLLECTIONS:
        paths = sorted(p for p in corpus.getCorePaths() if f"/corpus/{collection}/" in p.as_posix())
        stride = max(1, len(paths) // files)
        for path in paths[offset % stride :: stride][:files]:
            texts = split_abc_tunes(path.read_text(encoding="utf-8", errors="replace"))
            for text in texts[offset % step :: step][:per_file] if per_file > 1 else texts[:1]:
                try:
                    score = parse_score(text.encode(), "abc")
                    tunes.append(Tune(f"{collection}/{path.name}", text, score, pickup_of(score),
                                      bar_lines(score), "|:" in text or ":|" in text))
                except Exception:  # a tune music21 cannot read is not a case for this benchmark
                    continue
    step = max(1, len(tunes) // limit)
    return tunes[::step][:limit]


def with_marker(midi: bytes, pickup: Fraction) -> bytes:
    """The MIDI file with musegen's pickup marker put at the start of its first track."""
    song = mido.MidiFile(file=io.BytesIO(midi))
    song.tracks[0].insert(0, pickup_marker(pickup))
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


def writers() -> dict[str, Callable[[Tune], bytes]]:
    found = {
        "musegen + marker": lambda t: with_marker(to_midi(t.score), t.pickup),
        "musegen, no marker": lambda t: to_midi(t.score),
    }
    if find_abc2midi():
        found["abc2midi"] = lambda t: abc2midi_midi(t.text)
    return found


def measure(tunes: list[Tune]) -> dict[str, Tally]:
    tallies = {}
    for label, write in writers().items():
        tally = Tally()
        for tune in tunes:
            start = time.perf_counter()
            try:
                back = parse_score(write(tune), "midi")
                pickup, bars = pickup_of(back), bar_lines(back)
            except Exception:  # a failure to write or read counts as a miss
                pickup, bars = None, None
            tally.seconds += time.perf_counter() - start
            if tune.pickup:
                tally.pickups += 1
                tally.pickups_found += pickup == tune.pickup
            else:
                tally.plain += 1
                tally.plain_kept += pickup == 0
            if not tune.repeats:
                tally.barred += 1
                tally.bars_kept += bars == tune.bars
                tally.bar_lines += len(tune.bars)
                tally.bar_lines_kept += len(set(tune.bars) & set(bars or ()))
        tallies[label] = tally
    return tallies


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tunes", type=int, default=150, help="How many tunes to sample.")
    parser.add_argument("--offset", type=int, default=3, help="Which sample (0: the one the margins were set on).")
    args = parser.parse_args(argv)
    tunes = sample(args.tunes, args.offset)
    print(f"{len(tunes)} tunes, {sum(1 for t in tunes if t.pickup)} with a pickup, "
          f"{sum(1 for t in tunes if not t.repeats)} without repeat signs")
    print(f"{'writer':20s} {'pickup found':>16s} {'none invented':>16s} {'bar lines':>18s} "
          f"{'tunes, all bars':>16s} {'ms/tune':>8s}")
    for label, tally in measure(tunes).items():
        print(f"{label:20s} {share(tally.pickups_found, tally.pickups):>16s} "
              f"{share(tally.plain_kept, tally.plain):>16s} {share(tally.bar_lines_kept, tally.bar_lines):>18s} "
              f"{share(tally.bars_kept, tally.barred):>16s} {1000 * tally.seconds / max(1, len(tunes)):8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
