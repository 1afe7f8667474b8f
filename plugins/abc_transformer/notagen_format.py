"""NotaGen's text conventions (ElectricAlexis/NotaGen), as its training and inference use them.

A NotaGen piece is *interleaved* ABC: metadata lines (``%%score``, ``L:``, ``M:``, ``K:``,
``V:`` definitions; NotaGen-X's prompt adds ``%Period``, ``%Composer``, ``%Instrumentation``
lines first), then body lines that each hold one bar of every voice, ``[V:1]...|[V:2]...|``.
Training and streaming inference prefix body line i of n with ``[r:i/(n-i-1)]``.

Patches hold 16 characters; ids are ASCII codes, with 0 padding, 1 and 2 NotaGen's begin
and end-of-patch ids. Each metadata line, and each bar of the body (cut at bar lines; a
line's last bar line keeps the newline), is written into 16-character chunks, and a chunk
shorter than 16 is closed by id 2; a chunk of exactly 16 is not. The piece opens with the
patch ``1 x 15, 2`` and closes with ``1, 2 x 15``; the character decoder predicts every
character of a patch, its closing 2 included. Rests that fill a whole bar are left out of
the body (NotaGen's "rest reduction"); `to_standard` writes them back as bar rests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from musegen_cli.plugin import UserError, to_ascii

from .notagen_data import interleave, stream_prefixed
from .notagen_prompts import COMBINATIONS
from .text_formats import Patches, refuse_others

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
_BARLINES = ("|:", "::", ":|", "[|", "||", "|]", "|")
_BAR_SPLIT = re.compile("(" + "|".join(map(re.escape, _BARLINES)) + ")")
_STREAM_PREFIX = re.compile(r"^\[r:[^\]]*\]")
_VOICE = re.compile(r"\[V:(\d+)\](.*?)(?=\[V:|$)")
_RIGHT_BARLINE = re.compile(r"(\[\||:*\|[\]|:]*|::)\s*$")
PROMPT_CONDITIONS = ("period", "composer", "instrumentation")
#: A prime's stream prefixes count at least this many lines after it (without ``--bars``).
MIN_NEW_LINES = 16


def _line_bars(line: str) -> list[str]:
    """One body line cut at bar lines, the way NotaGen cuts it: each bar after the first
    starts with the bar line before it, and a trailing bar line (with the newline) joins
    the last bar. Raises IndexError where NotaGen's cutting fails (it then drops the rest)."""
    parts = [part for part in _BAR_SPLIT.split(line) if part]
    if len(parts) == 1:
        return parts
    start = 0 if parts[0] in _BARLINES else 1
    bars = parts[:start] + [parts[i] + parts[i + 1] for i in range(start, len(parts), 2)]
    if "V" not in bars[-1]:
        bars[-2] += bars[-1]
        bars.pop()
    return bars


def _bars(lines: list[str]) -> list[str]:
    bars: list[str] = []
    try:
        for line in lines:
            bars += _line_bars(line)
    except IndexError:  # NotaGen stops cutting at the first line it cannot cut
        pass
    return bars


def _chunks(text: str, size: int, close: bool = True) -> list[str]:
    if close and len(text) % size:
        text += chr(EOS_ID)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _ids(chunk: str, size: int) -> list[int]:
    return [ord(c) for c in chunk] + [PAD_ID] * (size - len(chunk))


def begin_patch(size: int) -> list[int]:
    return [BOS_ID] * (size - 1) + [EOS_ID]


def end_patch(size: int) -> list[int]:
    return [BOS_ID] + [EOS_ID] * (size - 1)


class NotaGenFormat:
    name = "notagen"
    closing = frozenset((EOS_ID,))
    #: NotaGen's inference settings (inference/config.py).
    sampling_defaults: Mapping[str, float] = {"top_k": 9, "top_p": 0.9, "temperature": 1.2}
    #: Its sampler filters top-k, then top-p, then applies the temperature.
    filter_order = "kpt"
    #: Its inference makes the first body patch start with ``[r:0/`` (`sampling`).
    body_start = ("[r:", "[r:0/")
    #: It continues a piece past the patch context from its metadata and later lines.
    streams = True

    # ----- patches ------------------------------------------------------------------

    def encode(self, text: str, patch_size: int, max_patches: int) -> Patches:
        """The training layout (its ``encode_train`` with streaming, cut at the head)."""
        lines = [line + "\n" for line in to_ascii(text).split("\n") if line]
        body_at = next((i for i, line in enumerate(lines) if "[V:" in line), -1)
        metadata, body = lines[:body_at], lines[body_at:]
        body = [f"[r:{i}/{len(body) - i - 1}]{line}" for i, line in enumerate(body)]
        chunks = [c for line in metadata for c in _chunks(line, patch_size)]
        chunks += [c for bar in _bars(body) for c in _chunks(bar, patch_size)]
        patches = [begin_patch(patch_size)] + [_ids(c, patch_size) for c in chunks] + [end_patch(patch_size)]
        return patches[:max_patches]

    def encode_prompt(self, text: str, patch_size: int) -> tuple[Patches, list[int]]:
        """A prompt as its inference encodes one (``encode_generate``): the last bar of the
        body stays open, so sampling continues it."""
        text = to_ascii(text)
        lines = [line for line in text.split("\n") if line]
        body_at = next((i for i, line in enumerate(lines) if line.startswith(("[V:", "[r:"))), len(lines))
        metadata = [line + "\n" for line in lines[:body_at]]
        body = [line + "\n" for line in lines[body_at:]]
        if body and not text.endswith("\n"):
            body[-1] = body[-1][:-1]
        chunks = [c for line in metadata for c in _chunks(line, patch_size)]
        bars = _bars(body)
        chunks += [c for bar in bars[:-1] for c in _chunks(bar, patch_size)]
        if bars:
            chunks += _chunks(bars[-1], patch_size, close=False)
        patches = [begin_patch(patch_size)] + [_ids(c, patch_size) for c in chunks]
        last = chunks[-1] if chunks else ""
        if last and len(last) < patch_size and last[-1] != chr(EOS_ID):
            return patches[:-1], [ord(c) for c in last]
        return patches, []

    def is_end(self, ids: list[int]) -> bool:
        return ids[0] == BOS_ID and ids[1] == EOS_ID

    def patch_text(self, ids: list[int]) -> str:
        chars = []
        for i in ids:
            if i == EOS_ID:
                break
            if i > EOS_ID:
                chars.append(chr(i))
        return "".join(chars)

    # ----- conditions and text ----------------------------------------------------------

    def known_conditions(self) -> dict[str, tuple[str, ...]]:
        return {name: tuple(sorted({combo[i] for combo in COMBINATIONS})) for i, name in enumerate(PROMPT_CONDITIONS)}

    def check_conditions(self, conditions: Mapping[str, str]) -> dict[str, str]:
        refuse_others(conditions, PROMPT_CONDITIONS, "NotaGen")
        given = dict(conditions)
        if not given:
            return given
        missing = [name for name in PROMPT_CONDITIONS if name not in given]
        if missing:
            raise UserError(f"NotaGen prompts name period, composer and instrumentation together; add --{missing[0]}")
        combo = tuple(given[name] for name in PROMPT_CONDITIONS)
        if combo not in COMBINATIONS:
            kinds = [c[2] for c in COMBINATIONS if c[:2] == combo[:2]]
            known = (
                f"{combo[1]} in {combo[0]} has: {', '.join(kinds)}"
                if kinds
                else f"{combo[0]} composers: " + "; ".join(sorted({c[1] for c in COMBINATIONS if c[0] == combo[0]}))
            )
            raise UserError(
                f"NotaGen-X knows no prompt {combo[0]} / {combo[1]} / {combo[2]} (it knows "
                f"{len(COMBINATIONS)} combinations); {known}"
            )
        return given

    def prompt(self, conditions: Mapping[str, str], prime: str | None, bars: int | None = None) -> str:
        """The prompt lines, then a prime in NotaGen's layout (``notagen_data``) with stream
        prefixes that count a piece of the prime's lines and ``bars`` more (a line is a bar
        of every voice, and the sampler counts one bar a line), else as many lines again as
        the prime holds, at least ``MIN_NEW_LINES``."""
        lines = "".join(f"%{conditions[name]}\n" for name in PROMPT_CONDITIONS if name in conditions)
        if not prime:
            return lines
        metadata, body = interleave(prime)
        new = bars if bars else max(len(body), MIN_NEW_LINES)
        return lines + "".join(metadata + stream_prefixed(body, len(body) + new))

    def scored_text(self, piece: str, conditions: Mapping[str, str]) -> str:
        metadata, body = interleave(piece)
        return self.prompt(conditions, None) + "".join(metadata + [_STREAM_PREFIX.sub("", line) for line in body])

    def continuation(self, text: str) -> str | None:
        """What its streaming inference reads on after a piece fills the context: the
        metadata and the later half of the body lines written so far (None: no body yet)."""
        lines = text.split("\n")
        body_at = next((i for i, line in enumerate(lines) if line.startswith(("[r:", "[V:"))), None)
        if body_at is None or body_at == len(lines) - 1:
            return None
        metadata = "".join(line + "\n" for line in lines[:body_at])
        body = [line + "\n" for line in lines[body_at:]]
        if not text.endswith("\n"):
            body[-1] = body[-1][:-1]
        else:
            body = body[:-1]  # the empty string after the final newline
        keep = len(body) // 2
        return metadata + "".join(body[-keep:]) if keep else None

    def to_standard(self, text: str) -> str:
        """Standard ABC: the prompt lines dropped, stream prefixes removed, and every voice a
        body line leaves out written back as a bar rest (``Z``) with the line's bar line."""
        lines = [line for line in text.split("\n") if line.strip()]
        lines = [line for line in lines if not (line.startswith("%") and not line.startswith("%%"))]
        body_at = next((i for i, line in enumerate(lines) if "[V:" in line), len(lines))
        metadata, body = lines[:body_at], lines[body_at:]
        voices = sorted({m.group(1) for line in metadata if (m := re.match(r"V:(\d+)", line))}, key=int)
        out = []
        for line in body:
            line = _STREAM_PREFIX.sub("", line)
            found = dict(_VOICE.findall(line))
            if not found:
                out.append(line)
                continue
            barline = next((m.group(1) for bar in found.values() if (m := _RIGHT_BARLINE.search(bar))), "|")
            lead = line.split("[V:", 1)[0]
            out.append(lead + "".join(f"[V:{v}]" + found.get(v, "Z" + barline) for v in voices or found))
        return "X:1\n" + "".join(line + "\n" for line in metadata + out)
