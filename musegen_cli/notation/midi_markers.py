"""The marker musegen writes into its MIDI files so that a pickup (anacrusis) survives.

A MIDI file has no bar lines: a tune that starts with a pickup plays its first note at time
0, exactly like a tune that starts on the downbeat, and a reader that bars the notes from
time 0 shifts every bar line. musegen's MIDI writer therefore adds, at time 0 of its first
track, a marker meta event (type 0x06) whose text is

    anacrusis=N/D

the pickup's length as a fraction of a whole note, as ABC's `L:` writes lengths
(`anacrusis=1/8`: an eighth-note pickup; `anacrusis=3/8`: three eighths; `anacrusis=0`: the
music starts on a downbeat, so a reader need not guess). The functions here speak in
quarter notes, music21's unit, and convert.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import mido

PICKUP_KEY = "anacrusis"
_PICKUP_TEXT = re.compile(rf"^{PICKUP_KEY}=(\d+)(?:/(\d+))?$")


def pickup_marker(quarter_length: Fraction | float) -> mido.MetaMessage:
    """The marker for a pickup of `quarter_length` quarter notes (0: no pickup), at time 0."""
    import mido

    length = Fraction(quarter_length).limit_denominator(10**4)
    if length < 0:
        raise ValueError(f"a pickup cannot be negative ({quarter_length})")
    return mido.MetaMessage("marker", text=f"{PICKUP_KEY}={length / 4}", time=0)


def read_pickup(midi_file: mido.MidiFile) -> Fraction | None:
    """The pickup in quarter notes that a marker at time 0 declares; None without one.

    A marker with another text, a malformed value or one after time 0 is not ours and is
    left alone (the reader then guesses from the notes).
    """
    for track in midi_file.tracks:
        elapsed = 0
        for message in track:
            elapsed += message.time
            if elapsed > 0:
                break
            if message.type == "marker":
                match = _PICKUP_TEXT.match(message.text.strip())
                if match and int(match.group(2) or 1) > 0:
                    return Fraction(int(match.group(1)), int(match.group(2) or 1)) * 4
    return None
