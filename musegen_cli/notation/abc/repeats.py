"""The order a voice's bars are played in: repeats, endings and `P:` parts, as abc2midi plays them.

ABC 2.1 decides the plain cases (4.8-4.10, 3.1.9): `|: ... :|` plays twice, `::` (`:|:`)
closes one repeat and opens the next, on pass n an ending `[n` (`[1,3`, `[1-3`) is played
and the others skipped, a header `P:` gives the order of the parts. Where it leaves a choice
(4.8: a `:|` with no `|:` "should restart the music from the beginning of the tune, or from
the latest double bar line or end of repeated section"; what a `:|` after the last ending
means; where endings without `|:` begin), musegen does what abc2midi (4.84) does, so that
the two play the same notes. That is a small machine over the bar lines, read from the
behaviour abc2midi documents and shows (`tests/data/abc_rules/`):

- Before playing, a voice (or a part, with a play order) whose first repeat mark is a `:|`
  or `::` gets a `|:` at its start. In a one-voice tune without a play order, a later `:|`,
  `::` or the first ending with no open `|:` gets one at the latest `||`/`|]`, or turns the
  latest `:|` into `::`; a second `|:` with the first still open becomes `::`. Once any
  ending has been seen, a lone `:|` gets no `|:` (and so repeats nothing on its first pass).
- Playing keeps a pass number. `|:` sets pass 1; a `:|` on pass 1 after a `|:` goes back to
  it. An ending played on pass n allows pass n + 1 (up to 4), so a `:|` closing the last of
  `[1`...`[n` (n < 4) replays the section once more with no ending, and a `:|` after it with
  no `|:` of its own goes back to the last `|:` (the top, if none). `::` on a later pass
  opens a new section.
- An ending not for this pass is skipped up to the next `:|`, `|:`, `||`, `|]`, `[|`,
  ending or `P:` label; the bar line it stops at is skipped with it (a `P:` is not). The
  pass number carries over, so endings later in the tune with no `|:` of their own are
  chosen by it.
- With a header `P:` play order, each `P:` label (A-Z) in the body jumps to the next part of
  the order, played from the label's last occurrence; the music before the first label plays
  first. Without one, body `P:` labels are only labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from musegen_cli.notation.abc.model import Bar

#: At most this many jumps back per voice: a guard, far above any real tune.
MAX_JUMPS = 512
#: Bar line marks the machine reads; "bar" plays one bar.
_ENDING_STOPS = frozenset({":|", "|:", "||", "[", "P"})


@dataclass
class _Mark:
    kind: str  # "bar", "||", "|:", ":|", "::", "[" (an ending), "P" (a part label)
    bar: int = -1
    numbers: frozenset[int] = frozenset()
    label: str = ""


def played_bars(bars: list[Bar], play_order: list[str], single_voice: bool) -> list[Bar]:
    """The bars of one voice in playing order (see the module docstring). Without a header
    play order, body `P:` labels play nothing; with one, only labels A-Z name parts."""
    by_part = bool(play_order)
    marks = _marks(bars, by_part)
    labels = {mark.label for mark in marks if mark.kind == "P"}
    order = [label for label in play_order if label in labels]
    if by_part:
        marks.append(_Mark("P"))  # the end of the last part also moves on to the next part
    _open_first_repeats(marks, by_part)
    if single_voice and not by_part:
        _place_missing_starts(marks)
    return [bars[index] for index in _play(marks, order, by_part)]


def _marks(bars: list[Bar], by_part: bool) -> list[_Mark]:
    """The voice as a sequence of bar line marks and bars, starting with a `||` at the top."""
    marks = [_Mark("||")]
    for index, bar in enumerate(bars):
        previous = bars[index - 1] if index else None
        joined = previous is not None and previous.repeat_end and bar.repeat_start and bar.double_repeat
        if joined:
            marks.append(_Mark("::"))
        elif previous is not None and previous.repeat_end:
            marks.append(_Mark(":|"))
        elif previous is not None and previous.final:
            marks.append(_Mark("||"))
        if by_part and bar.part and "A" <= bar.part[0] <= "Z":
            marks.append(_Mark("P", label=bar.part[0]))
        if bar.repeat_start and not joined:
            marks.append(_Mark("|:"))
        if bar.ending_start:
            marks.append(_Mark("[", numbers=bar.ending_start))
        marks.append(_Mark("bar", bar=index))
    if bars and bars[-1].repeat_end:
        marks.append(_Mark(":|"))
    return marks


def _open_first_repeats(marks: list[_Mark], by_part: bool) -> None:
    """A `|:` at the start of the voice (or of each part) whose first repeat mark closes one."""
    segments: list[list[_Mark]] = [[]]
    for mark in marks:
        if mark.kind == "P" and by_part:
            segments.append([])
        segments[-1].append(mark)
    for segment in segments:
        first = next((mark.kind for mark in segment[1:] if mark.kind in ("|:", ":|", "::")), None)
        if first in (":|", "::"):
            segment.insert(1, _Mark("|:"))
    marks[:] = [mark for segment in segments for mark in segment]


def _place_missing_starts(marks: list[_Mark]) -> None:
    """Where a closing repeat or the first ending finds no open `|:`, open one at the latest
    double bar or turn the latest `:|` into `::` (one-voice tunes without a play order)."""
    start_point, open_repeat, endings_seen = 0, False, 0
    for index, mark in enumerate(marks):
        if mark.kind == "||":
            start_point = index
        elif mark.kind == "|:":
            if open_repeat:
                mark.kind = "::"
            open_repeat = True
        elif mark.kind == ":|":
            if not open_repeat and endings_seen == 0:
                _open_at(marks[start_point])
            open_repeat, start_point = False, index
        elif mark.kind == "[":
            if endings_seen == 0 and not open_repeat:
                _open_at(marks[start_point])
            endings_seen += 1
        elif mark.kind == "::":
            if not open_repeat:
                _open_at(marks[start_point])
            open_repeat = True


def _open_at(mark: _Mark) -> None:
    mark.kind = {"||": "|:", ":|": "::"}.get(mark.kind, mark.kind)


def _play(marks: list[_Mark], order: list[str], by_part: bool) -> list[int]:
    """Bar indices in playing order: the pass machine of the module docstring."""
    part_starts = {mark.label: index for index, mark in enumerate(marks) if mark.kind == "P" and mark.label}
    next_part = 0
    played: list[int] = []
    passage, last_pass, open_repeat, saved, jumps = 1, 2, False, 0, 0
    index = 0
    while index < len(marks):
        mark = marks[index]
        if mark.kind == "bar":
            played.append(mark.bar)
        elif mark.kind == "P" and by_part:
            if next_part >= len(order):
                break
            index, next_part = part_starts[order[next_part]], next_part + 1
        elif mark.kind == "|:":
            saved, open_repeat, passage, last_pass = index, True, 1, 2
        elif mark.kind == ":|":
            back = (passage == 1 and open_repeat) or (passage > 1 and passage < last_pass)
            if back and jumps < MAX_JUMPS:
                passage, index, open_repeat, jumps = passage + 1, saved, False, jumps + 1
        elif mark.kind == "::":
            if passage > 1 or not open_repeat:
                last_pass = 2 if passage > 1 else last_pass
                saved, open_repeat, passage = index, True, 1
            elif jumps < MAX_JUMPS:
                passage, index, jumps = passage + 1, saved, jumps + 1
        elif mark.kind == "[":
            chosen = passage if open_repeat or passage > 1 else 1
            if chosen in mark.numbers:
                last_pass = passage + 1 if last_pass < 4 else last_pass
            else:
                index = _skip_ending(marks, index)
        index += 1
    return played


def _skip_ending(marks: list[_Mark], index: int) -> int:
    """The mark an ending not played on this pass is skipped to; the caller steps past it,
    so that bar line is not played either, unless it is a part label."""
    index += 1
    while index < len(marks) and marks[index].kind not in _ENDING_STOPS:
        index += 1
    if index < len(marks) and marks[index].kind == "P":
        index -= 1
    return index
