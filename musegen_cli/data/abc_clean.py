"""Normalising one ABC tune into the form models are trained on.

Corpus ABC carries much that is not music: titles, sources, transcriber notes, fingerings and
bowings written as annotations, lyrics, layout directives. A model should spend its capacity on
notes, so a clean tune keeps only the fields that change what sounds (M:, L:, Q:, K:, V:),
chord symbols, and the body with annotations, decorations and comments removed.
Line breaks inside the body are layout; `\\` continuations are joined so a line is a phrase,
and a line end that closes a complete bar gets the bar line the transcription left implicit.
"""

from __future__ import annotations

import hashlib
import re

from musegen_cli.data.bar_lines import restore_line_end_bars
from musegen_cli.notation.abc.text import FIELD_LINE, INLINE_FIELD, strip_comment

#: Header fields kept, in the order they are written back.
KEPT_FIELDS = ("M", "L", "Q", "K")
_QUOTED = re.compile(r'"([^"]*)"')
_CHORD_SYMBOL = re.compile(r"^[A-G][#b]?(m|min|maj|dim|aug|sus|add|M)?[0-9]*(/[A-G][#b]?)?$")
_BANG_DECORATION = re.compile(r"![^!\n]*!|\+[^+\n]*\+")
_SHORT_DECORATIONS = re.compile(r"[uvTHLMOPS~]")
_NOTE_CHARS = re.compile(r"[A-Ga-gz]")


def _keep_chord_symbols(body: str) -> str:
    """Keep quoted chord symbols ("Am", "G7"); drop annotations and fingerings ("^x", "4")."""
    return _QUOTED.sub(lambda m: m.group(0) if _CHORD_SYMBOL.match(m.group(1).strip()) else "", body)


def _clean_body_line(line: str) -> str:
    line = _keep_chord_symbols(line)
    line = _BANG_DECORATION.sub("", line)
    # Single-letter decorations only outside chord symbols and inline fields.
    pieces = re.split(r'("[^"]*"|\[[A-Za-z]:[^\]]*\])', line)
    pieces = [p if p.startswith(('"', "[")) and not p.startswith("[|") else _SHORT_DECORATIONS.sub("", p) for p in pieces]
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def clean_abc_tune(text: str) -> str | None:
    """The tune reduced to music (see module doc), or None when it has no notes or no K: field."""
    header: dict[str, str] = {}
    voices: list[str] = []
    body: list[str] = []
    in_body = False
    pending = ""
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.startswith("%%"):
            continue
        line = strip_comment(raw).rstrip()
        field = FIELD_LINE.match(line)
        if field and not line.startswith("|"):
            name, value = field.group(1), field.group(2).strip()
            if name == "w" or name == "W":
                continue  # lyrics
            if not in_body:
                if name == "V":
                    voices.append(f"V:{value}")
                elif name in KEPT_FIELDS and name not in header:
                    header[name] = value
                if name == "K":
                    in_body = True
                continue
            if name in ("K", "M", "L", "Q", "V"):
                pending += f"[{name}:{value}]"  # a change inside the body becomes an inline field
            continue
        if not in_body or not line.strip():
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        cleaned = _clean_body_line(pending + line)
        pending = ""
        if cleaned:
            body.append(cleaned)
    if pending.strip():
        body.append(_clean_body_line(pending))
    if "K" not in header or not any(_NOTE_CHARS.search(INLINE_FIELD.sub("", b)) for b in body):
        return None
    lines = ["X:1"] + [f"{name}:{header[name]}" for name in KEPT_FIELDS if name in header and name != "K"]
    lines += voices + [f"K:{header['K']}"] + body
    return restore_line_end_bars("\n".join(lines) + "\n")


def body_fingerprint(clean_tune: str) -> str:
    """A hash of the notes alone (header and spacing ignored), to find duplicate tunes."""
    return hashlib.sha256(_music(clean_tune).encode("utf-8")).hexdigest()[:16]


def keyed_fingerprint(clean_tune: str) -> str:
    """A hash of the opening key and the notes: tells a tune from its parallel-minor copy,
    whose notes are mostly written alike and read under another key signature."""
    key = next((line[2:].strip() for line in clean_tune.split("\n") if line.startswith("K:")), "")
    return hashlib.sha256(f"K:{key}\n{_music(clean_tune)}".encode("utf-8")).hexdigest()[:16]


def _music(clean_tune: str) -> str:
    """The body after the first K: line, without whitespace."""
    body = clean_tune.split("\n")
    start = next((i for i, line in enumerate(body) if line.startswith("K:")), -1) + 1
    return re.sub(r"\s+", "", "".join(body[start:]))
