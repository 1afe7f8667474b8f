"""ABC tunes played by the reference tool, abc2midi, and compared note for note.

Shared by `benchmarks/abc_fidelity.py` and the ABC rule tests (`tests/notation/test_abc_rules.py`),
so that both read notes, neutralise abc2midi's playing conventions and find the first
difference in one way.

Melody only (`melody_only`): both tools get the tune without what a player is free to
perform in their own way, so that the notation alone decides what is compared: chord
symbols and annotations ("..."), grace notes ({...}), the roll, trill and staccato shorthands
(`~`, `T`, `R`, `.`), ornament and articulation decorations (`!trill!`, `!roll!`,
`!breath!`, ...; `+trill+` alike), and the `R:` field (abc2midi swings `R:hornpipe` tunes).
Measured: abc2midi plays `~`, `R`, `T` and `!trill!` as several short notes, halves a
staccato or `!breath!` note, and doubles a fermata. Other decorations stay, since they play
nothing and a reader must still get past them.

abc2midi as the standard writes it (`reference_tune`, `ABC2MIDI_FLAGS`), checked on
abc2midi 4.84 (Debian 12):
- `-NFER`: a fermata (`H`, `!fermata!`) doubles its note by default;
- `-NGRA`, `-NGUI`: no grace notes and no accompaniment from chord symbols (removed anyway);
- `%%MIDI chordattack 0`: the notes of a `[CEG]` chord start 10 ticks apart by default;
- `%%MIDI ratio 3 1`: `a>b` is 3:1 as ABC 2.1 says (4.84 does so by default, older
  versions and `-CS` play 2:1);
- `%%MIDI` lines other than program, channel and (r)transpose are dropped: `trim` and
  `expand` shorten or lengthen notes, `gchord`, `drone`, `drum` add accompaniment;
- the lines before `X:` (a tunebook's file header, which `split_abc_tunes` puts in front of
  every tune) move after `X:`: abc2midi ignores anything above the `X:` line;
- not used: `-BF` (BarFly stress model, off by default), `-CS`, `-OCC`, `-HARP`.
abc2midi starts every note one tick late and ends it on time (so one tick short), and
rounds tuplets to its 480 ticks per quarter: notes are compared within `TOLERANCE`.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

#: Onsets and durations (in quarter notes) closer than this are equal: 7.5 of abc2midi's 480
#: ticks per quarter, far below any written note length (a 128th note is 1/32 of a quarter).
TOLERANCE = 1 / 64
#: General MIDI's percussion channel (channel 10, 9 counted from 0): never melody.
DRUM_CHANNEL = 9
ABC2MIDI_FLAGS = ("-NFER", "-NGRA", "-NGUI", "-quiet", "-silent")
#: Put after the X: line of every tune abc2midi plays.
ABC2MIDI_PREAMBLE = ("%%MIDI chordattack 0", "%%MIDI ratio 3 1")
#: %%MIDI commands that change which notes sound as written; all others are performance.
KEPT_MIDI_COMMANDS = ("program", "channel", "transpose", "rtranspose")
#: Decorations a player (abc2midi among them) performs by adding notes or changing lengths.
PERFORMED_DECORATIONS = frozenset(
    "trill trill( trill) roll turn turnx invertedturn invertedturnx mordent lowermordent "
    "uppermordent pralltriller slide breath bend arpeggio fermata invertedfermata staccato "
    "tenuto wedge".split()
)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

_FIELD_LINE = re.compile(r"^[A-Za-z+]:")
_MUSIC_TOKEN = re.compile(
    r'"[^"]*"?'  # chord symbol or annotation (an unclosed one runs to the end of the line)
    r"|\{[^}]*\}?"  # grace notes
    r"|\[[A-Za-z]:[^\]]*\]"  # inline field: kept whole
    r"|![^!\s|\[\]:]*!|\+[^+\s|\[\]:]*\+"  # decoration
    r"|[~.TR]"  # roll, staccato, trill and abc2midi's roll shorthand
    r"|."
)


class Note(NamedTuple):
    """One sounding note: onset and duration in quarter notes, MIDI pitch (60 = C4)."""

    onset: float
    pitch: int
    duration: float

    def describe(self) -> str:
        return f"{note_name(self.pitch)} at {round(self.onset, 3):g} for {round(self.duration, 3):g}"


@dataclass(frozen=True)
class Difference:
    """The first place two note lists disagree; a side is None where its list has ended."""

    index: int
    expected: Note | None
    got: Note | None

    def describe(self) -> str:
        def side(note: Note | None) -> str:
            return note.describe() if note else "nothing"

        return f"note {self.index + 1}: expected {side(self.expected)}, got {side(self.got)}"


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def melody_only(tune: str) -> str:
    """The tune without the parts each player performs its own way (see the module doc)."""
    lines = []
    in_body = False
    for line in tune.split("\n"):
        if re.match(r"^[Rr]:", line) or _dropped_midi_command(line):
            continue
        if in_body and not _FIELD_LINE.match(line) and not line.startswith("%"):
            line = _MUSIC_TOKEN.sub(_kept_token, line.split("%", 1)[0])
        in_body = in_body or line.startswith("K:")
        lines.append(line)
    return "\n".join(lines)


def _kept_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if token[0] in '"{' or token in "~.TR":
        return ""
    if len(token) > 2 and token[0] in "!+" and token[1:-1] in PERFORMED_DECORATIONS:
        return ""
    return token


def _dropped_midi_command(line: str) -> bool:
    words = line.split()
    return len(words) > 0 and words[0] == "%%MIDI" and (len(words) < 2 or words[1] not in KEPT_MIDI_COMMANDS)


def reference_tune(tune: str) -> str:
    """The tune as abc2midi must get it to play the notation as written (module doc)."""
    lines = [line for line in tune.split("\n") if not _dropped_midi_command(line)]
    start = next((i for i, line in enumerate(lines) if line.startswith("X:")), None)
    if start is None:
        return "\n".join(["X:1", *ABC2MIDI_PREAMBLE, *lines])
    header = [line for line in lines[:start] if line.strip()]
    return "\n".join([lines[start], *header, *ABC2MIDI_PREAMBLE, *lines[start + 1 :]])


def find_abc2midi() -> str | None:
    return shutil.which("abc2midi")


def abc2midi_midi(tune: str, program: str = "abc2midi", timeout: float = 30.0) -> bytes:
    """The MIDI file abc2midi writes for the tune (prepared with `reference_tune`).

    Raises RuntimeError with abc2midi's own messages when it writes no file.
    """
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as folder:
        source, target = Path(folder, "tune.abc"), Path(folder, "tune.mid")
        source.write_text(reference_tune(tune), encoding="utf-8")
        run = subprocess.run(
            [program, str(source), "-o", str(target), *ABC2MIDI_FLAGS],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        if not target.exists() or target.stat().st_size == 0:
            said = " ".join((run.stdout + run.stderr).split())[:200]
            raise RuntimeError(f"abc2midi wrote no MIDI file ({said or f'exit status {run.returncode}'})")
        return target.read_bytes()


def midi_notes(data: bytes) -> list[Note]:
    """Every sounding note of a MIDI file, all tracks and channels merged but the drums,
    in playing order (`in_order`)."""
    import mido

    midi = mido.MidiFile(file=io.BytesIO(data))
    per_quarter = midi.ticks_per_beat
    notes = []
    for track in midi.tracks:
        now = 0
        sounding: dict[tuple[int, int], list[int]] = {}
        for message in track:
            now += message.time
            if message.type not in ("note_on", "note_off") or message.channel == DRUM_CHANNEL:
                continue
            key = (message.channel, message.note)
            if message.type == "note_on" and message.velocity > 0:
                sounding.setdefault(key, []).append(now)
            elif sounding.get(key):
                start = sounding[key].pop(0)
                notes.append(Note(start / per_quarter, message.note, (now - start) / per_quarter))
    return in_order(notes)


def hanging_notes(data: bytes) -> int:
    """How many notes of a MIDI file are left sounding: each note_on struck again on its
    channel while it still sounds, and each never switched off (the drum channel included)."""
    import mido

    midi = mido.MidiFile(file=io.BytesIO(data))
    hanging = 0
    for track in midi.tracks:
        sounding: dict[tuple[int, int], int] = {}
        for message in track:
            if message.type not in ("note_on", "note_off"):
                continue
            key = (message.channel, message.note)
            if message.type == "note_on" and message.velocity > 0:
                hanging += sounding.get(key, 0) > 0
                sounding[key] = sounding.get(key, 0) + 1
            elif sounding.get(key):
                sounding[key] -= 1
        hanging += sum(sounding.values())
    return hanging


def in_order(notes: list[Note], tolerance: float = TOLERANCE) -> list[Note]:
    """Notes by onset, and notes that start together (within `tolerance`) by pitch, so that
    two tools that round onsets differently list simultaneous notes alike."""
    by_onset = sorted(notes)
    ordered: list[Note] = []
    group: list[Note] = []
    for note in by_onset:
        if group and note.onset - group[0].onset > tolerance:
            ordered.extend(sorted(group, key=lambda n: (n.pitch, n.duration)))
            group = []
        group.append(note)
    ordered.extend(sorted(group, key=lambda n: (n.pitch, n.duration)))
    return ordered


def first_difference(expected: list[Note], got: list[Note], tolerance: float = TOLERANCE) -> Difference | None:
    """Where `got` first departs from `expected` (pitch, onset, duration), or None."""
    for index, (want, have) in enumerate(zip(expected, got)):
        if (
            want.pitch != have.pitch
            or abs(want.onset - have.onset) > tolerance
            or abs(want.duration - have.duration) > tolerance
        ):
            return Difference(index, want, have)
    if len(expected) != len(got):
        index = min(len(expected), len(got))
        return Difference(
            index,
            expected[index] if index < len(expected) else None,
            got[index] if index < len(got) else None,
        )
    return None
