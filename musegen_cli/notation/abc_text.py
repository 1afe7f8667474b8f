"""ABC text tools that need no music21: voice layout and rewriting for music21's reader.

music21 reads ABC but misreads three common forms, which `normalize_for_music21` rewrites
into equivalent ones it reads correctly:
- interleaved voices (`[V:1]bar|[V:2]bar|` on one line, NotaGen's layout) all land in the
  last voice, so voices are gathered into classic per-voice blocks;
- `V:` definitions in the header become empty extra parts, so they move into the body;
- inline field changes `[K:G]`, `[M:3/4]`, `[L:1/16]` are ignored (and `[Q:...]|` makes an
  empty measure), so they become field lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_INLINE_VOICE = re.compile(r"\[V:\s*([^\]\s]+)[^\]]*\]")
_INLINE_FIELD = re.compile(r"\[([KMLQ]):([^\]]*)\]")
_QUOTED_NAME = re.compile(r'\b(?:name|nm)\s*=\s*"([^"]*)"')


@dataclass
class Voice:
    """One ABC voice: its id, the rest of its `V:` definition, and its body lines."""

    id: str
    definition: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        match = _QUOTED_NAME.search(self.definition)
        return match.group(1) if match else None


@dataclass
class NormalizedTune:
    """A tune rewritten for music21, with what music21 would otherwise lose."""

    text: str
    voices: list[Voice]
    #: Voice ids that share one staff (from `%%score`/`%%staves` parentheses).
    staff_groups: list[list[str]]


def normalize_for_music21(tune: str) -> NormalizedTune:
    """Rewrite one tune so music21 reads its voices and key changes correctly."""
    lines = tune.replace("\r\n", "\n").split("\n")
    split = _header_end(lines)
    header, body = lines[:split], lines[split:]
    voices: dict[str, Voice] = {}
    kept_header = []
    groups: list[list[str]] = []
    for line in header:
        match = _FIELD_LINE.match(line)
        if match and match.group(1) == "V":
            _voice(voices, match.group(2))
            continue
        if line.startswith(("%%score", "%%staves")):
            groups = staff_groups(line)
        kept_header.append(line)
    current: str | None = None
    loose: list[str] = []
    for line in body:
        match = _FIELD_LINE.match(line)
        if match and match.group(1) == "V":
            current = _voice(voices, match.group(2)).id
            continue
        if line.startswith(("%%score", "%%staves")):
            groups = staff_groups(line)
            continue
        for voice_id, segment in _segments(line, current):
            current = voice_id
            if voice_id is not None:
                voices.setdefault(voice_id, Voice(voice_id))
            if segment.strip():
                target = voices[voice_id].lines if voice_id is not None else loose
                target.extend(_split_inline_fields(segment))
    if not voices:
        return NormalizedTune("\n".join(kept_header + loose), [], [])
    ordered = list(voices.values())
    ordered[0].lines[:0] = loose
    out = list(kept_header)
    initial = _fields(kept_header)
    changed: set[str] = set()
    for voice in ordered:
        out.append(f"V:{voice.id} {voice.definition}".rstrip())
        out.extend(f"{name}:{initial[name]}" for name in _RESET if name in changed and name in initial)
        out.extend(voice.lines)
        changed.update(_fields(voice.lines))
    return NormalizedTune("\n".join(out) + "\n", ordered, groups)


#: Fields a voice starts with from the header, though music21 carries them over from the
#: previous voice's block (the ABC standard makes them per voice).
_RESET = ("M", "L", "K")


def _fields(lines: list[str]) -> dict[str, str]:
    """The last value of each reset field set by field lines."""
    found = {}
    for line in lines:
        match = _FIELD_LINE.match(line)
        if match and match.group(1) in _RESET:
            found[match.group(1)] = match.group(2).strip()
    return found


def staff_groups(directive: str) -> list[list[str]]:
    """Voice ids in parentheses in a `%%score`/`%%staves` line share a staff."""
    return [group.split() for group in re.findall(r"\(([^)]*)\)", directive) if len(group.split()) > 1]


def _header_end(lines: list[str]) -> int:
    """Index just after the first K: line (the end of the tune header)."""
    for i, line in enumerate(lines):
        if line.startswith("K:"):
            return i + 1
    return len(lines)


def _voice(voices: dict[str, Voice], spec: str) -> Voice:
    """Register a `V:` definition (first one wins for its properties)."""
    parts = spec.strip().split(None, 1)
    voice_id = parts[0] if parts else "1"
    voice = voices.setdefault(voice_id, Voice(voice_id))
    if len(parts) > 1 and not voice.definition:
        voice.definition = parts[1].strip()
    return voice


def _segments(line: str, current: str | None) -> list[tuple[str | None, str]]:
    """Cut a body line at inline `[V:id]` markers into (voice id, text) pieces."""
    pieces: list[tuple[str | None, str]] = []
    voice, position = current, 0
    for match in _INLINE_VOICE.finditer(line):
        pieces.append((voice, line[position : match.start()]))
        voice, position = match.group(1), match.end()
    pieces.append((voice, line[position:]))
    return pieces


def _split_inline_fields(segment: str) -> list[str]:
    """`abc|[K:G]def|` -> `abc|`, `K:G`, `def|` (music21 ignores inline K:, M: and L:, and
    makes an empty measure of an inline Q: before a bar line)."""
    out: list[str] = []
    position = 0
    for match in _INLINE_FIELD.finditer(segment):
        before = segment[position : match.start()]
        if before.strip():
            out.append(before)
        out.append(f"{match.group(1)}:{match.group(2).strip()}")
        position = match.end()
    rest = segment[position:]
    if rest.strip():
        out.append(rest)
    return out
