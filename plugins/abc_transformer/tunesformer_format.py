"""TunesFormer's text conventions, as EMusicGen (monetjoe/EMusicGen) trains and samples them.

A training text is the control code, then the tune without its ``X:`` line: ``A:Q1`` (the
emotion quadrant, EMusicGen's addition), TunesFormer's ``S:`` (sections), ``B:`` (bars per
section) and ``E:`` (edit similarity) lines, then the header and the body. The form codes
are the conditions ``sections``, ``section_bars`` and ``similarity`` (``tunesformer_codes``);
a scored piece that has none gets the codes the source's data preparation computes for it.

Patches hold 32 ids. Every patch is stored as id 1, its characters, id 2, then padding (id 0),
cut to 32 ids (a longer bar loses its tail and its closing id); the character decoder spells
what follows the stored 1, its closing 2 included. Each field line (a letter and a colon, or
``%%score``) is one patch with its newline; the body between field lines is cut into bars at
bar lines, each bar opening with what followed the previous bar line (a line's newline starts
the next bar), and text after the last bar line of the tune is dropped. The piece opens with
the patch ``1 x 31, 2`` and closes with ``1, 2 x 31``; a spelled patch that is empty (closing
at once) ends the piece.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from musegen_cli.plugin import UserError, strip_comment, to_ascii

from .text_formats import Patches, refuse_others
from .tunesformer_codes import FORM_CONDITIONS, control_codes, form_codes

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
_BARLINES = ("|:", "::", ":|", "[|", "||", "|]", "|")
_BAR_SPLIT = re.compile("(" + "|".join(map(re.escape, _BARLINES)) + ")")
EMOTIONS = ("Q1", "Q2", "Q3", "Q4")
#: Lines the source's generation hides from the tune it prints (control codes).
_CONTROL_FIELDS = ("A:", "S:", "B:", "E:")


def _bars(body: str) -> list[str]:
    parts = [part for part in _BAR_SPLIT.split(body) if part]
    if len(parts) > 1 and parts[0] in _BARLINES:
        parts = [parts[0] + parts[1]] + parts[2:]
    return [parts[2 * i] + parts[2 * i + 1] for i in range(len(parts) // 2)]


def _patch(text: str, size: int) -> list[int]:
    ids = ([BOS_ID] + [ord(c) for c in text] + [EOS_ID])[:size]
    return ids + [PAD_ID] * (size - len(ids))


def _is_field(line: str) -> bool:
    return len(line) > 1 and ((line[0].isalpha() and line[1] == ":") or line.startswith("%%score"))


def _without_x(tune: str) -> str:
    lines = to_ascii(tune).split("\n")
    return "\n".join(lines[1:]) if lines and lines[0].startswith("X:") else "\n".join(lines)


class TunesFormerFormat:
    name = "tunesformer"
    closing = frozenset((EOS_ID,))
    #: EMusicGen's generation defaults (generate.py).
    sampling_defaults: Mapping[str, float] = {"top_k": 8, "top_p": 0.8, "temperature": 1.2}
    #: Its sampler filters top-p, then top-k, then applies the temperature.
    filter_order = "pkt"
    body_start = None
    streams = False

    def encode(self, text: str, patch_size: int, max_patches: int) -> Patches:
        """The training layout (its ``Patchilizer.encode`` with the special patches)."""
        return self._patches(text, patch_size, with_end=True)[:max_patches]

    def _patches(self, text: str, size: int, with_end: bool) -> Patches:
        patches = [[BOS_ID] * (size - 1) + [EOS_ID]]
        body = ""
        for line in (line for line in to_ascii(text).split("\n") if line):
            if not _is_field(line):
                body += line + "\n"
                continue
            if body:
                bars = _bars(body)
                patches += [_patch(bar + "\n" if i == len(bars) - 1 else bar, size) for i, bar in enumerate(bars)]
                body = ""
            patches.append(_patch(line + "\n", size))
        if body:
            patches += [_patch(bar, size) for bar in _bars(body)]
        if with_end:
            patches.append([BOS_ID] + [EOS_ID] * (size - 1))
        return patches

    def encode_prompt(self, text: str, patch_size: int) -> tuple[Patches, list[int]]:
        """A prompt as its generation reads one: the complete patches, and the prompt's text
        after what they hold as the opening characters of the next patch."""
        text = to_ascii(text)
        patches = self._patches(text, patch_size, with_end=False)
        held = "".join(self.patch_text(p) for p in patches)
        return patches, [ord(c) for c in text[len(held) :][: patch_size - 2]]

    def is_end(self, ids: list[int]) -> bool:
        return self.patch_text(ids) == ""

    def patch_text(self, ids: list[int]) -> str:
        return "".join(chr(i) for i in ids if i > EOS_ID)

    # ----- conditions and text ----------------------------------------------------------

    def known_conditions(self) -> dict[str, tuple[str, ...]]:
        return {}  # the form conditions take numbers and lists: ``form_codes`` checks them

    def check_conditions(self, conditions: Mapping[str, str]) -> dict[str, str]:
        refuse_others(conditions, ("emotion", *FORM_CONDITIONS), "TunesFormer/EMusicGen")
        emotion = conditions.get("emotion")
        if emotion is not None and emotion not in EMOTIONS:
            raise UserError(f"invalid emotion {emotion!r}; valid values: {', '.join(EMOTIONS)}")
        form_codes(conditions)
        return dict(conditions)

    def prompt(self, conditions: Mapping[str, str], prime: str | None, bars: int | None = None) -> str:
        """The control codes, then the prime without its X: line (``bars`` is not written: the
        form conditions are the source's lengths)."""
        code = f"A:{conditions['emotion']}\n" if "emotion" in conditions else ""
        return code + form_codes(conditions) + (_without_x(prime) if prime else "")

    def scored_text(self, piece: str, conditions: Mapping[str, str]) -> str:
        """The prompt, then the piece; a piece with no form codes of its own and none in the
        conditions is scored under the codes its source computes for it, as it trained."""
        tune = _without_x(piece)
        given = "sections" in conditions or any(line.startswith("S:") for line in tune.split("\n"))
        cleaned = "".join(strip_comment(line) + "\n" for line in tune.split("\n") if not line.startswith("%"))
        return self.prompt(conditions, None) + ("" if given else control_codes(cleaned)) + tune

    def to_standard(self, text: str) -> str:
        """Standard ABC: numbered X:1, the control codes left out."""
        lines = [line for line in text.split("\n") if not line.startswith(_CONTROL_FIELDS)]
        return "X:1\n" + "\n".join(lines).lstrip("\n")
