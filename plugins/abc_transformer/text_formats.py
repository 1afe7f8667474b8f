"""How a model's text becomes patches and back: musegen's own layout, or an imported source's.

One model implementation serves every format (``model.ModelConfig.text_format``); what
differs is only the patch layout and the text conventions around it, collected here behind
one small interface, `TextFormat`:

* ``encode`` gives the patches of a whole piece as the model's training objective reads it
  (scoring uses it, so a score is the source's own loss times its characters);
* ``encode_prompt`` gives the complete patches of a generation prompt and the characters of
  an unfinished last patch, which sampling continues;
* ``closing``, ``is_end`` and ``patch_text`` read what the sampler spells;
* ``prompt``, ``check_conditions`` and ``to_standard`` map musegen's conditions onto the
  format's prompt lines and its output onto the standard ABC musegen writes everywhere.

No torch here: the family declaration imports this module's callers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from musegen_cli.plugin import UserError, abc_patches

Patches = list[list[int]]


class TextFormat(Protocol):
    name: str
    #: Tokens that close a patch while it is spelled.
    closing: frozenset[int]
    #: The source's sampling defaults (temperature, top_k, top_p), used where none is given.
    sampling_defaults: Mapping[str, float]
    #: Filters (top-k, top-p) act on the untempered distribution, temperature afterwards.
    temperature_last: bool

    def encode(self, text: str, patch_size: int, max_patches: int) -> Patches:
        """Patches of a whole piece (begin patch, text, end patch), cut to the context."""

    def encode_prompt(self, text: str, patch_size: int) -> tuple[Patches, list[int]]:
        """Complete patches of a prompt, and the spelled characters of an open last patch."""

    def is_end(self, ids: list[int]) -> bool:
        """Whether a spelled patch [S] ends the piece."""

    def patch_text(self, ids: list[int]) -> str:
        """The text characters of one stored patch."""

    def prompt(self, conditions: Mapping[str, str], prime: str | None, bars: int | None = None) -> str:
        """Generation prompt text for conditions (checked) and an optional prime, for a
        piece that goes on for ``bars`` more bars where the format writes lengths down."""

    def check_conditions(self, conditions: Mapping[str, str]) -> dict[str, str]:
        """The conditions if this format can express them; else a one-line UserError."""

    def known_conditions(self) -> dict[str, tuple[str, ...]]:
        """Valid values of the open conditions this format accepts."""

    def scored_text(self, piece: str, conditions: Mapping[str, str]) -> str:
        """A piece (any ABC a user has) as the format's training text, under conditions."""

    def to_standard(self, text: str) -> str:
        """Generated text (prompt included) as standard ABC, numbered X:1."""


class MusegenFormat:
    """musegen's own layout (`musegen_cli.notation.abc_patches`); conditions and prompts of
    the native models live in ``conditions`` and ``header_plan``, which `inference` uses."""

    name = "musegen"
    closing = frozenset((abc_patches.EOP, abc_patches.END))
    sampling_defaults: Mapping[str, float] = {}
    temperature_last = False

    def encode(self, text: str, patch_size: int, max_patches: int) -> Patches:
        return abc_patches.encode(text, patch_size)[:max_patches]

    def encode_prompt(self, text: str, patch_size: int) -> tuple[Patches, list[int]]:
        return abc_patches.encode_prompt(text, patch_size)

    def is_end(self, ids: list[int]) -> bool:
        return ids[0] == abc_patches.END

    def patch_text(self, ids: list[int]) -> str:
        return abc_patches.patch_text(ids)


def format_for(name: str) -> TextFormat | MusegenFormat:
    """The format a model config names."""
    if name == "musegen":
        return MusegenFormat()
    if name == "notagen":
        from .notagen_format import NotaGenFormat

        return NotaGenFormat()
    if name == "tunesformer":
        from .tunesformer_format import TunesFormerFormat

        return TunesFormerFormat()
    raise UserError(f"unknown text format {name!r}; known formats: musegen, notagen, tunesformer")


def refuse_others(conditions: Mapping[str, str], accepted: tuple[str, ...], source: str) -> None:
    """One line naming a condition an imported format has no prompt for."""
    for name in conditions:
        if name not in accepted:
            what = ", ".join(accepted) if accepted else "none"
            raise UserError(f"a {source} model does not accept the condition {name!r} (it accepts: {what})")
