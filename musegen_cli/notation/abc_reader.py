"""Reading one ABC tune with music21, after rewriting what music21 would misread.

See `abc_text.normalize_for_music21` for the text rewrites. music21 also drops a meter
change written at the start of a bar (its measure splitter clips field tokens at bar
boundaries) and then cuts every longer bar in two; moving the meter token to the end of the
bar keeps it. Bars that are still cut share one TimeSignature object, which breaks MIDI and
MusicXML export; each gets its own copy. After parsing, parts get the voice names from `V: name="..."`, and
voices that `%%score (1 2)` puts on one staff are merged back into one part with music21
voices (as our writer and NotaGen's data write piano music). music21 writes its beaming
warnings ("messed up beam pair") and reading notes straight to stderr while it parses; they
are dropped (`quiet_music21`), as they say nothing about the music a user could act on.
"""

from __future__ import annotations

import contextlib
import copy
import io
from typing import TYPE_CHECKING

from musegen_cli.notation.abc_text import normalize_for_music21

if TYPE_CHECKING:
    from music21 import stream


def quiet_music21() -> contextlib.AbstractContextManager:
    """Drop what music21's ABC reader writes to stderr while it reads ("messed up beam pair",
    "could not get pitch information ... assuming C"): notes about its own reading, which a
    user cannot act on and which would land in the middle of musegen's output."""
    return contextlib.redirect_stderr(io.StringIO())


def parse_abc(tune: str) -> stream.Score:
    """Parse one ABC tune (text with a single X:) into a Score."""
    from music21 import abcFormat, stream

    normalized = normalize_for_music21(tune)
    parsed = stream.Score()
    with quiet_music21():
        handler = abcFormat.ABCFile().readstr(normalized.text)
        _keep_meter_changes(handler.tokens)
        abcFormat.translate.abcToStreamScore(handler, parsed)
    _unshare_time_signatures(parsed)
    parts = list(parsed.parts)
    if normalized.voices and len(parts) == len(normalized.voices):
        for part, voice in zip(parts, normalized.voices):
            part.id = voice.id
            if voice.name:
                part.partName = voice.name
        for group in normalized.staff_groups:
            members = [p for voice_id in group for p in parts if p.id == voice_id]
            if len(members) > 1:
                _merge_into_voices(parsed, members)
    return parsed


def _unshare_time_signatures(score: stream.Score) -> None:
    """Give each measure its own TimeSignature object.

    When music21 cuts a bar that is longer than its meter, it puts the same TimeSignature
    object into several measures; MIDI export then fails ("TimeSignature already found")
    and MusicXML export misplaces notes. A copy per measure fixes both.
    """
    from music21 import stream

    seen: set[int] = set()
    for measure in score.recurse().getElementsByClass(stream.Measure):
        signature = measure.timeSignature
        if signature is None:
            continue
        if id(signature) in seen:
            measure.timeSignature = copy.deepcopy(signature)
        seen.add(id(measure.timeSignature))


def _keep_meter_changes(tokens: list) -> None:
    """Move each meter or key token that follows a bar line to the end of its bar, in place.

    music21 cuts a measure at every field token followed by a note and drops the token;
    at the end of the bar the token stays inside the measure and sets its time signature.
    """
    from music21 import abcFormat

    i = len(tokens) - 1
    while i > 0:
        token = tokens[i]
        if isinstance(token, abcFormat.ABCMetadata) and (token.isMeter() or token.isKey()) and _after_bar(tokens, i):
            end = next((j for j in range(i + 1, len(tokens)) if isinstance(tokens[j], abcFormat.ABCBar)), len(tokens))
            tokens.insert(end - 1, tokens.pop(i))
        i -= 1


def _after_bar(tokens: list, index: int) -> bool:
    from music21 import abcFormat

    for previous in reversed(tokens[:index]):
        if isinstance(previous, abcFormat.ABCBar):
            return True
        if not isinstance(previous, abcFormat.ABCMetadata):
            return False
    return False


def _merge_into_voices(score: stream.Score, parts: list[stream.Part]) -> None:
    """Make the first part hold every part's measures as music21 voices; drop the others."""
    from music21 import stream

    columns = [list(p.getElementsByClass(stream.Measure)) for p in parts]
    for i, measure in enumerate(columns[0]):
        for number, column in enumerate(columns, 1):
            voice = stream.Voice(id=str(number))
            if i < len(column):
                for element in column[i].notesAndRests:
                    voice.insert(element.offset, copy.deepcopy(element))
            if number == 1:
                for element in list(measure.notesAndRests):
                    measure.remove(element)
            measure.insert(0, voice)
    for part in parts[1:]:
        score.remove(part)
