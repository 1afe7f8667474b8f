"""Sampling from an abc-transformer: safe token choice and a batched, streaming generator.

``stream`` yields each patch (usually one bar) as soon as every row of the batch has
written it, so a caller can print bars while the piece is still being made. Two step
implementations drive the same loop and draw the same random numbers, so they give
identical pieces for the same seed:

* ``_CachedSteps`` keeps keys/values at both levels: one new position per step;
* ``_RecomputeSteps`` is the reference loop of the original implementations: it reruns
  the whole patch prefix for every patch and the whole partial patch for every character.

The model's text format (``text_formats``) says how prompts become patches, which tokens
close a patch and which patch ends a piece, so imported NotaGen and TunesFormer models are
sampled by the same loop.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import torch
from torch import Tensor

from musegen_cli.plugin import END, EOP, PAD, BarCheck, ends_bar, patch_text, split_units, to_ascii

from .model import AbcTransformer
from .static_step import CompiledPatchSteps, StaticCharSteps
from .text_formats import format_for

#: Orders of the sampling operations: musegen's temperature, top-k, top-p ("tkp"); NotaGen's
#: top-k, top-p, then temperature on what is left ("kpt"); TunesFormer's top-p first ("pkt").
FILTER_ORDERS = ("tkp", "kpt", "pkt")


@dataclass(frozen=True)
class SamplingConfig:
    """How to pick tokens and when to stop.

    ``temperature`` 0 is greedy; ``top_k`` 0 and ``top_p`` 1 switch those filters off.
    ``max_patches``, ``max_chars`` and ``max_bars`` bound each row's new patches,
    characters and bars (patches ending with a bar line; in multi-voice music each
    voice's bars count). Limits are checked at patch ends, so ``max_chars`` may be
    overshot by up to one patch; a row cut after a plain bar line ends with `|]`
    (``final_bar_line``). ``min_bars`` keeps a row from writing the end patch before that
    many bars, and from ``end_bars`` bars on a row ends as soon as it closes a section
    (``_ends_at_section``): with ``max_bars`` they make the length band of a piece, its end
    steered to a section end. ``bar_retries`` > 0 checks each finished bar against the
    meter (`notation.bar_check`) and spells a bar that does not fit again (its last patch,
    or the whole bar from its first patch; ``_Row``); the bar that reaches ``max_bars`` must
    also end the piece cleanly (no slur or tie left open). When no try fits, a one-voice tune
    of at least ``min_bars`` bars whose last bar closed a section ends there (typically a
    later section's pickup that no short section end completes: the model insists on it, and
    a tune cut at its section end is music, one with an unpaired pickup is not); otherwise
    the least bad try is kept, and the caller's strict piece check (``generate``'s retries of
    invalid pieces) writes the piece again: a piece shorter than the band is no piece to keep.
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    max_patches: int | None = None
    max_chars: int | None = None
    max_bars: int | None = None
    min_bars: int | None = None  # the end patch is not written before this many bars
    end_bars: int | None = None  # from this many bars on, a row ends at its next section end
    bar_retries: int = 0  # write a bar again (up to this many times) when it does not fit the meter
    #: With ``bar_retries``, a row may end (its end patch, or a section end past ``end_bars``)
    #: only on a cadence: its last note or chord in the tonic triad (`BarCheck.cadence`).
    end_on_cadence: bool = False
    filter_order: str = "tkp"  # one of FILTER_ORDERS

    def __post_init__(self) -> None:
        if self.filter_order not in FILTER_ORDERS:
            raise ValueError(f"filter_order must be one of {', '.join(FILTER_ORDERS)}, not {self.filter_order!r}")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, not {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, not {self.top_k}")
        if not 0 <= self.top_p <= 1:
            raise ValueError(f"top_p must be between 0 and 1, not {self.top_p}")
        if self.bar_retries < 0:
            raise ValueError(f"bar_retries must be >= 0, not {self.bar_retries}")
        for name in ("max_patches", "max_chars", "max_bars", "min_bars", "end_bars"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, not {value}")


def choose_tokens(logits: Tensor, config: SamplingConfig, generator: torch.Generator | None = None) -> Tensor:
    """Pick one token per row from logits [B, V] (``-inf`` marks impossible tokens).

    Scores are shifted so the best token scores exactly 0 before dividing by the
    temperature, and both filters always keep the best token, so no temperature or
    filter setting can produce NaN or an empty distribution.
    """
    logits = logits.float()
    if config.temperature == 0:
        return logits.argmax(-1)
    # Softmax shifts by the best score itself: at temperature 1 the shift is left to it.
    scores = logits if config.temperature == 1 else logits - logits.amax(-1, keepdim=True)
    for step in config.filter_order:
        if step == "t" and config.temperature != 1:
            scores = scores / config.temperature
        elif step == "k" and config.top_k:
            kth_best = scores.topk(min(config.top_k, scores.shape[-1]), dim=-1).values[:, -1:]
            scores = scores.masked_fill(scores < kth_best, float("-inf"))
        elif step == "p" and config.top_p < 1:
            scores = _top_p(scores, config.top_p)
    probs = scores.softmax(-1)
    # The exponential race: argmax of p_i / E_i (E_i ~ Exp(1)) is token i with probability p_i.
    # It is how torch.multinomial draws one sample (the same draws from the same generator),
    # without multinomial's checks of the distribution, which cost more than the draw itself.
    race = torch.empty_like(probs).exponential_(1, generator=generator)
    return (probs / race).argmax(-1)


def _top_p(scores: Tensor, top_p: float) -> Tensor:
    """Scores with every token dropped (-inf) whose better tokens already hold ``top_p`` of
    the probability; the best token always stays."""
    sorted_probs, order = scores.softmax(-1).sort(-1, descending=True)
    mass_before = sorted_probs.cumsum(-1) - sorted_probs
    drop_sorted = mass_before >= top_p
    drop_sorted[:, 0] = False
    return scores.masked_fill(torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted), float("-inf"))


@dataclass(frozen=True)
class PatchEvent:
    """One patch of one row. ``finish`` is None while the row goes on, else why it stopped:
    ``"end"`` (the model wrote the end patch; ``text`` is empty) or ``"length"`` (a limit)."""

    row: int
    text: str
    finish: Literal["end", "length"] | None


@dataclass(frozen=True)
class Completion:
    """A generated continuation (the prompt is not repeated) and why it stopped."""

    text: str
    finish: Literal["end", "length"]


def _hooked(decoder: torch.nn.Module) -> bool:
    """Whether steering hooks sit on a decoder or its blocks (a compiled step would skip them)."""
    return any(module._forward_hooks or module._forward_pre_hooks for module in (decoder, *decoder.blocks))


class _CachedSteps:
    """Generation steps that keep keys/values at both levels; with ``static_chars`` the
    characters are spelled by a compiled fixed-shape step and, unless steering hooks sit on
    the patch decoder, patches are pushed by a compiled step (`static_step`)."""

    @torch.inference_mode()
    def __init__(self, model: AbcTransformer, prompts: Tensor, lengths: Tensor, max_new: int | None,
                 static_chars: bool = False) -> None:
        self.model = model
        room = None if max_new is None else int(lengths.max()) + max_new  # all a row can push
        self.patch_cache = model.new_cache("patch", len(lengths), room)
        self.char_cache = model.new_cache("char", len(lengths))
        self.static = None
        self.compiled_push = None
        if static_chars:
            if _hooked(model.char_decoder):
                raise ValueError("a compiled character step cannot be steered; generate without compiling")
            self.static = StaticCharSteps(model, len(lengths))
            if not _hooked(model.patch_decoder):  # steered patch layers are pushed eagerly
                self.compiled_push = CompiledPatchSteps(model)
        self.states = model.prefill(prompts, lengths, self.patch_cache)

    @torch.inference_mode()
    def push(self, patch: Tensor) -> None:
        if self.compiled_push is not None:
            self.states = self.compiled_push.push(patch, self.patch_cache)
        else:
            self.states = self.model.push_patch(patch, self.patch_cache)

    @torch.inference_mode()
    def first_char(self) -> Tensor:
        if self.static is not None:
            return self.static.first_char(self.states)
        return self.model.first_char(self.states, self.char_cache)

    @torch.inference_mode()
    def next_char(self, tokens: Tensor) -> Tensor:
        if self.static is not None:
            return self.static.next_char(tokens)
        return self.model.next_char(tokens, self.char_cache)

    @torch.inference_mode()
    def keep(self, rows: Tensor) -> None:
        self.patch_cache.keep(rows)
        self.char_cache.keep(rows)
        if self.static is not None:
            self.static.keep(rows)
        self.states = self.states[rows]

    @torch.inference_mode()
    def rewind(self, row: int, length: int, state: Tensor) -> None:
        """Take ``row`` back to ``length`` patches and the state that followed them."""
        lengths = self.patch_cache.lengths.clone()
        lengths[row] = length
        self.patch_cache.set_lengths(lengths)
        self.states[row] = state


class _RecomputeSteps:
    """Reference steps without caches: every patch reruns the prefix, every character the patch."""

    @torch.inference_mode()
    def __init__(self, model: AbcTransformer, prompts: Tensor, lengths: Tensor) -> None:
        self.model = model
        self.patches = torch.full(
            (len(lengths), model.config.max_patches, prompts.shape[2]), PAD, device=prompts.device
        )
        self.patches[:, : prompts.shape[1]] = prompts
        self.lengths = lengths.clone()
        self.rows = torch.arange(len(lengths), device=lengths.device)
        self._update_states()

    def _update_states(self) -> None:
        hidden = self.model.patch_states(self.patches[:, : int(self.lengths.max())])
        self.states = hidden[self.rows, self.lengths - 1]

    @torch.inference_mode()
    def push(self, patch: Tensor) -> None:
        self.patches[self.rows, self.lengths] = patch
        self.lengths += 1
        self._update_states()

    @torch.inference_mode()
    def first_char(self) -> Tensor:
        self.chars = torch.empty(len(self.lengths), 0, dtype=torch.long, device=self.patches.device)
        return self.model.char_logits(self.states, self.chars)[:, -1]

    @torch.inference_mode()
    def next_char(self, tokens: Tensor) -> Tensor:
        self.chars = torch.cat((self.chars, tokens[:, None]), dim=1)
        return self.model.char_logits(self.states, self.chars)[:, -1]

    @torch.inference_mode()
    def keep(self, rows: Tensor) -> None:
        self.patches, self.lengths, self.states = self.patches[rows], self.lengths[rows], self.states[rows]
        self.rows = torch.arange(len(rows), device=rows.device)

    @torch.inference_mode()
    def rewind(self, row: int, length: int, state: Tensor) -> None:
        self.lengths[row] = length
        self.states[row] = state


def _spell_patch(steps: _CachedSteps | _RecomputeSteps, forced: Tensor, n_forced: Tensor,
                 config: SamplingConfig, generator: torch.Generator | None,
                 may_end: Tensor | None = None, closing: frozenset[int] = frozenset((EOP, END)),
                 stored_prefix: tuple[int, ...] = ()) -> Tensor:
    """Write one patch [B, S] per row, character by character; the first ``n_forced``
    characters of each row are copied from ``forced`` [B, W] (an unfinished prompt patch;
    W characters are spelled). Rows where ``may_end`` is False may not write the end patch.
    A spelled token in ``closing`` closes the patch; ``stored_prefix`` (a format's begin id
    at the head of every stored patch) is put before the spelled characters.

    The per-character bookkeeping (forced characters, finished rows) is done on Python
    lists: at batch 1 each tensor operation on a handful of numbers costs about as much as
    a whole layer's worth of cache-cold dispatch, and the tokens must come to the host
    anyway to tell whether every row is done."""
    batch, size = forced.shape
    device = forced.device
    forced_rows, n_forced_rows = forced.tolist(), n_forced.tolist()
    patch = [[PAD] * size for _ in range(batch)]
    done = [False] * batch
    logits = steps.first_char()
    if may_end is not None:
        no_end = torch.zeros_like(logits, dtype=torch.bool)
        no_end[:, END] = ~may_end
        logits = logits.masked_fill(no_end, float("-inf"))
    for i in range(size):
        chosen = choose_tokens(logits, config, generator).tolist()
        for row in range(batch):
            if done[row]:
                chosen[row] = PAD
                continue
            if i < n_forced_rows[row]:
                chosen[row] = forced_rows[row][i]
            patch[row][i] = chosen[row]
            done[row] = chosen[row] in closing
        if i == size - 1 or all(done):
            break
        logits = steps.next_char(torch.tensor(chosen, device=device))
    return torch.tensor([list(stored_prefix) + ids for ids in patch], device=device)


def stream(model: AbcTransformer, prompts: Sequence[str], config: SamplingConfig = SamplingConfig(),
           generator: torch.Generator | None = None, use_cache: bool = True,
           compile_steps: bool = False) -> Iterator[PatchEvent]:
    """Continue every prompt, yielding patches as they are written.

    Prompts may differ in length; an empty prompt starts a piece from scratch. Each row
    ends with one event whose ``finish`` is set. ``generator`` (on the model's device)
    makes the result reproducible; ``use_cache=False`` runs the slow reference loop;
    ``compile_steps`` spells characters and pushes patches with compiled steps
    (`static_step`; the first patches pay the compilations).
    """
    if model.training:
        raise ValueError("sampling needs the model in eval mode (call model.eval())")
    if not prompts:
        raise ValueError("no prompts given (use [''] to start one piece from scratch)")
    size, context = model.config.patch_size, model.config.max_patches
    device = model.char_embed.weight.device
    encoded = [format_for(model.config.text_format).encode_prompt(p, size) for p in prompts]
    lengths = torch.tensor([len(patches) for patches, _ in encoded], device=device)
    if int(lengths.max()) >= context:
        raise ValueError(f"a prompt fills {int(lengths.max())} patches; the model reads at most {context}")
    return _run(model, encoded, lengths, config, generator, use_cache, list(prompts), compile_steps)


def _bar_check(prompt: str, cadence: bool = False) -> BarCheck:
    """A bar check that has read the prompt's complete units (an unfinished last unit is
    completed by the first generated patch, which the check then reads whole)."""
    check = BarCheck(strict=True, cadence=cadence)
    units = split_units(to_ascii(prompt))
    if units and not prompt.endswith("\n") and not ends_bar(units[-1]):
        units = units[:-1]
    for unit in units:
        check.add(unit)
    return check


def _respell_misfits(steps: _CachedSteps | _RecomputeSteps, patch: Tensor, forced: Tensor, n_forced: Tensor,
                     checks: list[BarCheck], budgets: list[int], config: SamplingConfig,
                     generator: torch.Generator | None, allowed_end: list[bool],
                     last_bar: list[bool]) -> tuple[Tensor, list[int], list[int]]:
    """Spell again the rows whose new patch closes a bar that does not fit the meter, ends
    the tune inside a short bar (the tries may not end it there), or closes the last bar
    (``last_bar``: the length cap) of a tune that would end unclean; rows that fit are
    copied through. Row i tries at most ``budgets[i]`` times, then keeps its least bad try
    (a bar of the wrong length rather than one that cannot be read). Returns the patches,
    their misfits (`BarCheck.misfit`) and the tries each row spent."""
    at_end = [check.misfit_at_end() for check in checks]  # ending here would leave a short bar

    def misfit_of(candidate: Tensor, i: int) -> int:
        if candidate[i, 0] == END:  # an unclean end is never the least bad try: a bad bar can be mended
            return UNCLEAN_END if at_end[i] else 0
        text = patch_text(candidate[i].tolist())
        return checks[i].misfit_as_last(text) if last_bar[i] and ends_bar(text) else checks[i].misfit(text)

    may_end = torch.tensor([misfit == 0 and ok for misfit, ok in zip(at_end, allowed_end)], device=patch.device)
    best, best_misfit = patch, [misfit_of(patch, i) for i in range(len(checks))]
    spent = [0] * len(checks)
    while True:
        retry = [i for i, misfit in enumerate(best_misfit) if misfit and spent[i] < budgets[i]]
        if not retry:
            return best, best_misfit, spent
        again = best.clone()
        keep_n = torch.full_like(n_forced, best.shape[1])
        for i in retry:
            again[i], keep_n[i] = forced[i], n_forced[i]
            spent[i] += 1
        tried = _spell_patch(steps, again, keep_n, config, generator, may_end)
        for i in retry:  # the other rows were copied through unchanged
            misfit = misfit_of(tried, i)
            if misfit < best_misfit[i]:
                best[i], best_misfit[i] = tried[i], misfit


def _restart_body(steps: _CachedSteps | _RecomputeSteps, patch: Tensor, n_forced: Tensor,
                  rows: list[tuple[int, list[bool]]], fmt, spell, config: SamplingConfig,
                  generator: torch.Generator | None) -> Tensor:
    """NotaGen's first body patch: when a row first writes a patch opening with the body
    marker (``[r:``), it is spelled again from the forced opening ``[r:0/``, as NotaGen's
    inference does; the other rows are copied through."""
    marker, opening = fmt.body_start
    redo = []
    for i, (r, in_body) in enumerate(rows):
        if not in_body[r] and n_forced[i] == 0 and fmt.patch_text(patch[i].tolist()).startswith(marker):
            in_body[r] = True
            redo.append(i)
    if not redo:
        return patch
    forced = patch[:, steps.model.config.spell_offset :].clone()
    keep_n = torch.full_like(n_forced, forced.shape[1])
    for i in redo:
        forced[i] = PAD
        forced[i, : len(opening)] = torch.tensor([ord(c) for c in opening])
        keep_n[i] = len(opening)
    return spell(steps, forced, keep_n, config, generator)


#: The misfit of an end patch that would end a tune unclean (`BarCheck.misfit_at_end`): worse
#: than any bar, so that a row out of tries goes on with its least bad bar instead of ending.
UNCLEAN_END = 3
#: Tries spent on a later patch of an open unit before the whole unit is written again.
TAIL_TRIES = 2
#: A unit (bar or line) may spend this many tries per ``bar_retries`` in all: measured on the
#: bundled model, 1x left 80.5% of 16-bar pieces valid, 2x 92%, 3x 94% (200 pieces, same speed).
UNIT_TRIES_PER_RETRY = 3


@dataclass
class _Row:
    """What one row has written, and the unit (bar or line) it has not closed yet.

    With a bar check, the patches of an open unit are held back from the stream, so that a
    bar longer than one patch that turns out not to fit is written again from its first
    patch: retrying only its last patch cannot mend a bar whose earlier patches miscounted.
    Retried patches and rewritten bars share one budget per unit (``UNIT_TRIES_PER_RETRY``
    x ``bar_retries``), so a model that cannot count slows down by a bounded factor.
    """

    prompt_patches: int
    check: BarCheck | None
    patches: int = 0  # pushed after the prompt, held ones included
    chars: int = 0
    bars: int = 0
    held: list[str] = field(default_factory=list)
    unit_state: Tensor | None = None  # the state that spelled the open unit; None: it stays
    tries_left: int = 0  # for the open unit
    rewriting: bool = False

    @property
    def opens_unit(self) -> bool:
        return self.check is not None and not self.check.pending

    def start_unit(self, state: Tensor | None, tries: int) -> None:
        if not self.rewriting:
            self.unit_state, self.tries_left = state, tries
        self.rewriting = False

    @property
    def tail_budget(self) -> int:
        """Tries for the patch just spelled: all that are left for a unit's first patch, a
        few for a later one, so that most are kept for writing the whole unit again."""
        return min(self.tries_left, TAIL_TRIES) if self.held else self.tries_left

    def can_rewrite(self) -> bool:
        return bool(self.held) and self.unit_state is not None and self.tries_left > 0

    def rewind(self) -> int:
        """Forget the open unit's patches; how many patches the row keeps."""
        self.patches -= len(self.held)
        self.chars -= sum(len(text) for text in self.held)
        self.bars -= sum(ends_bar(text) for text in self.held)
        self.held.clear()
        self.check.drop_pending()
        self.tries_left -= 1
        self.rewriting = True
        return self.prompt_patches + self.patches

    def release(self, row: int, at_limit: bool) -> Iterator[PatchEvent]:
        for n, text in enumerate(self.held, 1):
            last = at_limit and n == len(self.held)
            yield PatchEvent(row, final_bar_line(text) if last else text, "length" if last else None)
        self.held.clear()


def final_bar_line(text: str) -> str:
    """A piece cut at a length limit after a plain bar line ends with a final one (`|]`)."""
    match = re.search(r"(?<![|:\]])\|(\s*)$", text)
    return text[: match.start()] + "|]" + match.group(1) if match else text


def _ends_at_section(row: _Row, text: str, config: SamplingConfig) -> bool:
    """Whether a row past ``end_bars`` has just closed a section (a one-voice tune whose
    last bar ends with `:|`, `||`, `|]` or `::`), so its piece ends here."""
    if config.end_bars is None or row.bars < config.end_bars or row.held:
        return False
    if row.check is not None:
        return row.check.at_section_end
    return re.search(r"(:\||\|\||\|\]|::)\s*$", text) is not None


def _run(model: AbcTransformer, encoded: list[tuple[list[list[int]], list[int]]], lengths: Tensor,
         config: SamplingConfig, generator: torch.Generator | None, use_cache: bool,
         prompt_texts: list[str], compile_steps: bool = False) -> Iterator[PatchEvent]:
    size, context = model.config.patch_size, model.config.max_patches
    fmt = format_for(model.config.text_format)
    prefix = (1,) * model.config.spell_offset  # TunesFormer stores its begin id (1) first
    spell = partial(_spell_patch, closing=fmt.closing, stored_prefix=prefix)
    device = lengths.device
    batch = torch.full((len(encoded), int(lengths.max()), size), PAD, device=device)
    forced = torch.full((len(encoded), model.config.spell_width), PAD, device=device)
    for row, (patches, open_chars) in enumerate(encoded):
        batch[row, : len(patches)] = torch.tensor(patches)
        forced[row, : len(open_chars)] = torch.tensor(open_chars, dtype=torch.long)
    n_forced = torch.tensor([len(chars) for _, chars in encoded], device=device)

    steps = (_CachedSteps(model, batch, lengths, config.max_patches, compile_steps) if use_cache
             else _RecomputeSteps(model, batch, lengths))
    active = list(range(len(encoded)))
    checking = config.bar_retries and fmt.name == "musegen"  # bar checks read musegen's units
    rows = [_Row(length, _bar_check(text, config.end_on_cadence) if checking else None)
            for length, text in zip(lengths.tolist(), prompt_texts)]
    body_start = getattr(fmt, "body_start", None)
    in_body = [body_start is not None and body_start[0] in text for text in prompt_texts]
    unit_tries = UNIT_TRIES_PER_RETRY * config.bar_retries
    while True:
        for i, r in enumerate(active):
            if rows[r].opens_unit:  # a unit that began in the prompt is never rewritten
                rows[r].start_unit(steps.states[i].clone() if n_forced[i] == 0 else None, unit_tries)
        allowed_end = [rows[r].bars >= (config.min_bars or 0) for r in active]
        patch = spell(steps, forced, n_forced, config, generator, torch.tensor(allowed_end, device=device))
        if body_start is not None:
            patch = _restart_body(steps, patch, n_forced, [(r, in_body) for r in active], fmt, spell,
                                  config, generator)
        misfits = [0] * len(active)
        if checking:
            patch, misfits, spent = _respell_misfits(
                steps, patch, forced, n_forced, [rows[r].check for r in active],
                [rows[r].tail_budget for r in active], config, generator, allowed_end,
                [config.max_bars is not None and rows[r].bars + 1 >= config.max_bars for r in active])
            for r, tries in zip(active, spent):
                rows[r].tries_left -= tries
        keep, rewound = [], []
        for i, r in enumerate(active):
            row, ids = rows[r], patch[i].tolist()
            if misfits[i] and row.can_rewrite():
                rewound.append((r, row.rewind()))
                keep.append(i)
                continue
            if misfits[i] and row.check.at_section_end and allowed_end[i]:  # out of tries: end at the section end
                row.held.clear()
                yield PatchEvent(r, "", "end")
                continue
            if fmt.is_end(ids):
                yield from row.release(r, at_limit=False)
                yield PatchEvent(r, "", "end")
                continue
            text = fmt.patch_text(ids)[int(n_forced[i]) :]
            if row.check is not None:
                row.check.add(patch_text(ids))
            row.patches += 1
            row.chars += len(text)
            row.bars += ends_bar(text)
            row.held.append(text)
            at_limit = (
                row.prompt_patches + row.patches >= context
                or (config.max_patches is not None and row.patches >= config.max_patches)
                or (config.max_chars is not None and row.chars >= config.max_chars)
                or (config.max_bars is not None and row.bars >= config.max_bars)
            )
            if at_limit or row.check is None or not row.check.pending:
                yield from row.release(r, at_limit)
            if not at_limit and _ends_at_section(row, text, config):
                yield PatchEvent(r, "", "end")
            elif not at_limit:
                keep.append(i)
        if not keep:
            return
        if len(keep) < len(active):
            kept = torch.tensor(keep, device=device)
            steps.keep(kept)
            patch, forced = patch[kept], forced[kept]
            active = [active[i] for i in keep]
        n_forced = torch.zeros(len(active), dtype=torch.long, device=device)
        steps.push(patch)
        for r, length in rewound:  # the pushed patch of a rewound row is forgotten with its unit
            steps.rewind(active.index(r), length, rows[r].unit_state)


def generate(model: AbcTransformer, prompts: Sequence[str], config: SamplingConfig = SamplingConfig(),
             generator: torch.Generator | None = None, use_cache: bool = True,
             compile_steps: bool = False) -> list[Completion]:
    """Continue every prompt to its end or a limit; see ``stream``."""
    texts: list[list[str]] = [[] for _ in prompts]
    finish: list[Literal["end", "length"]] = ["length"] * len(prompts)
    for event in stream(model, prompts, config, generator, use_cache, compile_steps):
        texts[event.row].append(event.text)
        if event.finish:
            finish[event.row] = event.finish
    return [Completion("".join(parts), why) for parts, why in zip(texts, finish)]
