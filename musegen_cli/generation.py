"""Generating pieces that pass checks, and writing them in the formats asked for.

Every generated piece is measured by the analyzer and judged by the strict piece check
(`analysis.piece_check`: it parses, its bars add up, its text keeps the ABC grammar, it has
a title and a final bar line), and each requested condition is measured on it
(`analysis.adherence`). `retry_invalid` resamples the invalid ones with fresh,
deterministic seeds, so a run stays repeatable; with `strict_conditions` a piece that misses
a condition is resampled too (at least `STRICT_CONDITION_ROUNDS` rounds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from musegen_cli.analysis.adherence import Held, conditions_held
from musegen_cli.analysis.features import PieceFeatures
from musegen_cli.analysis.piece_check import PieceCheck, check_piece
from musegen_cli.contract import GenerateRequest, LoadedModel, Streams
from musegen_cli.errors import UserError
from musegen_cli.files import atomic_write

FORMATS = ("abc", "musicxml", "midi", "wav", "svg")
#: Seed offset between retry rounds: far from the seeds a user would pick next.
RETRY_SEED_STRIDE = 1_000_003
#: Resampling rounds `--strict-conditions` allows at least, before a miss is reported.
STRICT_CONDITION_ROUNDS = 8


@dataclass(frozen=True)
class GeneratedPiece:
    abc: str
    features: PieceFeatures
    attempts: int  # 1 when the first sample was kept
    asked: Mapping[str, str] = field(default_factory=dict)  # the conditions it was generated under

    @cached_property
    def held(self) -> list[Held]:
        """Each requested condition, measured on the piece."""
        return conditions_held(self.abc, self.features, self.asked)

    @property
    def misses(self) -> list[Held]:
        return [result for result in self.held if result.held is False]

    @cached_property
    def verdict(self) -> PieceCheck:
        return check_piece(self.abc, self.features)

    @property
    def valid(self) -> bool:
        return self.verdict.valid


def is_valid(abc: str, features: PieceFeatures | None = None) -> bool:
    """The strict piece check's verdict (`analysis.piece_check`); pass the piece's features
    when they are at hand, so it is not parsed again."""
    return check_piece(abc, features).valid


def check(abc: str) -> PieceFeatures:
    from musegen_cli.analysis.features import analyze_abc

    return analyze_abc(abc)


def generate_checked(model: LoadedModel, request: GenerateRequest, retry_invalid: int = 0,
                     strict_conditions: bool = False) -> list[GeneratedPiece]:
    """`request.count` pieces; each invalid one (or, with `strict_conditions`, one that
    misses a requested condition) is resampled up to `retry_invalid` times."""
    asked = dict(request.conditions)

    def good(piece: GeneratedPiece) -> bool:
        return piece.valid and not (strict_conditions and piece.misses)

    rounds = max(retry_invalid, STRICT_CONDITION_ROUNDS) if strict_conditions else retry_invalid
    pieces = [GeneratedPiece(text, check(text), 1, asked) for text in model.generate(request)]
    for attempt in range(1, rounds + 1):
        invalid = [i for i, piece in enumerate(pieces) if not good(piece)]
        if not invalid:
            break
        retry = replace(request, count=len(invalid), seed=request.seed + attempt * RETRY_SEED_STRIDE)
        for index, text in zip(invalid, model.generate(retry)):
            candidate = GeneratedPiece(text, check(text), attempt + 1, asked)
            if good(candidate) or (candidate.valid and not pieces[index].valid):
                pieces[index] = candidate
            else:
                pieces[index] = replace(pieces[index], attempts=attempt + 1)
    return pieces


def can_stream(model: LoadedModel) -> bool:
    """Whether ``model`` keeps the `Streams` contract, as its family's `Features.streams`
    promises (commands read the declaration; the conformance tests check the two agree)."""
    return isinstance(model, Streams)


def generate_streaming(model: LoadedModel, request: GenerateRequest, write: Callable[[str], None]) -> GeneratedPiece:
    """One piece whose text goes to `write` bar by bar as the model writes it."""
    text = ""
    for _row, fragment in model.stream(request):  # type: ignore[attr-defined]  (Features.streams)
        write(fragment)
        text += fragment
    return GeneratedPiece(text, check(text), 1, dict(request.conditions))


def parse_formats(spec: str) -> list[str]:
    formats = [name.strip().lower() for name in spec.split(",") if name.strip()]
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        raise UserError(f"unknown format {unknown[0] if unknown else spec!r}; choose from {', '.join(FORMATS)}")
    return formats


def write_piece(abc: str, stem: Path, formats: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Write one piece as `stem.abc`, `stem.mid`, ...; returns the files written and, for an
    invalid piece, what could not be written (its ABC is still written when asked for)."""
    from musegen_cli.notation.conversion import TARGETS, convert

    written: list[Path] = []
    problems: list[str] = []
    for fmt in formats:
        if fmt == "abc":
            written.append(atomic_write(stem.with_suffix(".abc"), abc.rstrip("\n") + "\n"))
            continue
        try:
            (piece,) = convert(abc.encode("utf-8"), "abc", fmt)
        except UserError as exc:
            problems.append(f"{stem.name}: cannot write {fmt}: {exc}")
            continue
        if piece.error is not None:
            problems.append(f"{stem.name}: cannot write {fmt}: {piece.error}")
            continue
        for page, data in enumerate(piece.outputs, start=1):
            suffix = TARGETS[fmt] if len(piece.outputs) == 1 else f"-{page}{TARGETS[fmt]}"
            written.append(atomic_write(stem.parent / f"{stem.name}{suffix}", data))
    return written, problems
