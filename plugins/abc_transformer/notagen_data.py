"""NotaGen's data preparation (ElectricAlexis/NotaGen ``data/2_data_preprocess.py`` with
abctoolkit's bar cutting): a standard ABC tune of one or many voices as the interleaved text
its models read, so that a prime or a scored piece looks like their training data.

Steps, in the source's order: information fields ``X: T: C: W: w: Z: %%MIDI`` and comments
are dropped (bar-number comments included); in music, ``\\"`` is deleted, quoted text that
holds a bar line goes, ``""`` goes, and a ``"^..."``/``"_..."`` annotation keeps one of each
run of a repeated non-alphanumeric character, or goes when still over 40 characters. Each
voice's music (all its ``V:`` blocks, or lines opened by ``[V:id]``) is cut into bars: bar
lines are ``||: :|| [|: :|] |]: :[| |: :: :| [| || |] |``; a leading ``[K:..]``-only part is
the voice's prefix; a second-ending number (or ``:``) after a bar line joins that bar line;
text after the last bar line is dropped. Every voice must have as many bars as the others.
Body line ``i`` then holds ``[V:n]`` + bar ``i`` + its right bar line for each voice whose
bar has a letter other than rests ``z Z x X`` (the first line adds the prefix and the left
bar line); a line with no such voice is left out ("rest reduction"). A header with no music
gives metadata alone, which NotaGen's inference continues with the first body line.

Metadata keeps the other header lines, then one ``V:n`` definition per voice (its first
definition's attributes). NotaGen numbers voices ``1..n``; other ids are renumbered in the
order they appear, ``%%score``/``%%staves`` lines too.
"""

from __future__ import annotations

import re

from musegen_cli.plugin import UserError, strip_comment, to_ascii

DROPPED_FIELDS = ("X:", "T:", "C:", "W:", "w:", "Z:", "%%MIDI")
BARLINES = ("||:", ":||", "[|:", ":|]", "|]:", ":[|", "|:", "::", ":|", "[|", "||", "|]", "|")
_BAR_SPLIT = re.compile("(" + "|".join(map(re.escape, BARLINES)) + ")")
_INLINE_FIELD = re.compile(r"\[[A-Za-z]:[^\]]*\]")
_VOICE_LINE = re.compile(r"^V:\s*(\S+)\s*(.*)$")
_VOICE_OPEN = re.compile(r"^\[V:\s*([^\]\s]+)\s*\]\s*")
_QUOTE = re.compile(r'"[^"]*"')
_VOLTA = set("0123456789,.-:")


def _clean_annotations(music: str) -> str:
    music = music.replace('\\"', "")
    for quote in _QUOTE.findall(music):
        if any(barline in quote for barline in BARLINES):
            music = music.replace(quote, "")
    for quote in _QUOTE.findall(music):
        if quote == '""':
            music = music.replace(quote, "")
        elif quote[1] in "^_":
            short = re.sub(r"([^a-zA-Z0-9])\1+", r"\1", quote)
            music = music.replace(quote, short if len(short) <= 40 else "")
    return music


def split_bars(voice: str, name: str) -> tuple[str, list[str], list[str], list[str]]:
    """(prefix, left bar lines, bar texts, right bar lines) of one voice's music."""
    parts = [part for part in _BAR_SPLIT.split(voice.strip()) if part.strip()]
    if not parts:
        raise UserError(f"voice {name} of the piece has no music")
    parts = [parts[0]] + [parts[i] for i in range(1, len(parts)) if parts[i] != parts[i - 1]]
    prefix = ""
    if parts[0] in BARLINES:
        start = 1
    elif not _INLINE_FIELD.sub("", parts[0]).strip() and len(parts) > 2:
        start, prefix = 2, parts[0].strip()
    else:
        start = 0
    for j in range(start, len(parts), 2):
        text = parts[j].strip().replace("\n", "")
        if text[0].isdigit() or text[0] == ":":
            k = next((k for k, c in enumerate(text) if c not in _VOLTA), len(text) - 1)  # the last one stays
            parts[j - 1] += text[:k]
            text = text[k:].strip()
        parts[j] = text
    half = len(parts) // 2
    if start == 1:
        lefts, texts, rights = parts[0 : 2 * half : 2], parts[1 : 2 * half : 2], parts[2 : 2 * half + 1 : 2]
    elif start == 0:
        lefts, texts, rights = [""] + parts[1 : 2 * half - 2 : 2], parts[0 : 2 * half : 2], parts[1 : 2 * half : 2]
    else:
        lefts, texts, rights = parts[1 : 2 * half - 2 : 2], parts[2 : 2 * half : 2], parts[3 : 2 * half : 2]
    if not texts or not len(lefts) == len(texts) == len(rights):
        raise UserError(f"voice {name} of the piece has no bar closed by a bar line")
    return prefix, lefts, texts, rights


def _sounds(bar: str) -> bool:
    return any(c.isalpha() and c not in "ZzXx" for c in bar)


def _voices(lines: list[str]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(header lines without V:, voice id -> definition attributes, voice id -> music)."""
    header: list[str] = []
    definitions: dict[str, str] = {}
    music: dict[str, str] = {}
    current: str | None = None
    for line in lines:
        voice = _VOICE_LINE.match(line)
        if voice:
            current = voice.group(1)
            if not definitions.get(current):
                definitions[current] = voice.group(2)
            continue
        if re.match(r"[A-Za-z]:", line) or line.startswith("%"):
            if not music:
                header.append(line)
            elif re.match(r"[A-Za-z]:", line):  # a field inside the music: inline in its voice
                music[current or "1"] = music.get(current or "1", "") + f"[{line.strip()}]"
            continue
        opened = _VOICE_OPEN.match(line)
        if opened:
            current, line = opened.group(1), line[opened.end() :]
            definitions.setdefault(current, "")
        current = current or "1"
        definitions.setdefault(current, "")
        music[current] = music.get(current, "") + _clean_annotations(line) + "\n"
    return header, definitions, music


def _numbering(ids: list[str]) -> dict[str, str]:
    if ids == [str(n) for n in range(1, len(ids) + 1)]:
        return {i: i for i in ids}
    return {old: str(n) for n, old in enumerate(ids, 1)}


def _renumber_score(line: str, numbers: dict[str, str]) -> str:
    if not line.startswith(("%%score", "%%staves")) or all(k == v for k, v in numbers.items()):
        return line
    directive, _, rest = line.partition(" ")
    return directive + " " + re.sub(r"[^\s(){}\[\]|]+", lambda m: numbers.get(m.group(0), m.group(0)), rest)


def is_interleaved(lines: list[str]) -> bool:
    """Already NotaGen's layout: stream-prefixed lines, or a line holding two voices."""
    return any(line.startswith("[r:") or line.count("[V:") > 1 for line in lines)


def interleave(tune: str) -> tuple[list[str], list[str]]:
    """(metadata lines, body lines) of a standard ABC tune in NotaGen's layout, each line
    with its newline; the body lines carry no stream prefixes (the caller's: they count
    the whole piece). A tune already in that layout is split as it stands."""
    lines = [line for line in to_ascii(tune).split("\n") if line.strip() and not line.startswith(DROPPED_FIELDS)]
    if is_interleaved(lines):
        at = next(i for i, line in enumerate(lines) if "[V:" in line or line.startswith("[r:"))
        return [line + "\n" for line in lines[:at]], [line + "\n" for line in lines[at:]]
    lines = [line if line.startswith("%%") else strip_comment(line).rstrip() for line in lines]
    lines = [line for line in lines if line and not (line.startswith("%") and not line.startswith("%%"))]
    header, definitions, music = _voices(lines)
    ids = [i for i in definitions if i in music] or list(definitions)  # a header alone: its voices
    numbers = _numbering(ids)
    cut = {i: split_bars(music[i], f"V:{i}") for i in ids if i in music}
    counts = {i: len(parts[2]) for i, parts in cut.items()}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"V:{i} {n}" for i, n in counts.items())
        raise UserError(
            f"the piece's voices have different numbers of bars ({listed}); NotaGen reads one bar "
            "of every voice per line, so each voice needs the same bars"
        )
    body = []
    for k in range(counts[ids[0]] if cut else 0):
        line = ""
        for i in ids:
            prefix, lefts, texts, rights = cut[i]
            if _sounds(texts[k]):
                line += f"[V:{numbers[i]}]" + (prefix + lefts[0] if k == 0 else "") + texts[k] + rights[k]
        if line:
            body.append(line + "\n")
    metadata = [_renumber_score(line, numbers) + "\n" for line in header]
    metadata += [f"V:{numbers[i]}" + (f" {definitions[i]}" if definitions[i] else "") + "\n" for i in ids]
    return metadata, body


def stream_prefixed(body: list[str], total: int) -> list[str]:
    """Body lines with NotaGen's stream prefixes ``[r:i/(total-i-1)]``, for a piece of
    ``total`` body lines (lines already prefixed are kept)."""
    return [line if line.startswith("[r:") else f"[r:{i}/{max(total - i - 1, 0)}]{line}" for i, line in enumerate(body)]
