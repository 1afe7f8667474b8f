"""The strict piece check: is this ABC a complete piece that a musician and the field's
tools would accept?

One definition of "valid" for everything that judges generated music (generate, dpo,
evolve, steer, the benchmarks). A piece is valid when:

- it parses by musegen's reader (`notation.formats.parse_score`) and has notes;
- its bars add up by the analyzer's rule (`analysis.bars`: pickups and the short bars that
  complete them are excused), i.e. `PieceFeatures.bars_off_meter == 0`;
- its text keeps the grammar `notation.abc_grammar` checks unit by unit (balanced slurs of
  two notes or more, ties between equal pitches, declared voices in order, a meter and bar
  lines, no stray characters, a final bar line, a title, ...);
- its bars keep the sampler's bar rule (`notation.bar_check`), which is abc2abc's count as
  well as the analyzer's: a short bar only as the tune's first, or closed by a repeat sign
  and completed by the next bar. The sampler's bar check asks the same grammar and the same
  rule about every bar it writes, so the two cannot disagree.

Whether the piece closes on its tonic triad (and on the tonic itself) is reported beside the
verdict, not a reason to refuse it: plenty of real tunes end elsewhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from musegen_cli.analysis.features import PieceFeatures


@dataclass(frozen=True)
class PieceCheck:
    """The verdict on one piece: ``reasons`` says, one line each, why it is not valid."""

    valid: bool
    reasons: tuple[str, ...]
    closes_on_tonic_triad: bool | None  # every pitch at the last onset is in the tonic triad
    closes_on_tonic: bool | None  # and the lowest of them is the tonic

    @property
    def reason(self) -> str:
        """The reasons on one line ("" for a valid piece)."""
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reasons": list(self.reasons),
                "closes_on_tonic_triad": self.closes_on_tonic_triad, "closes_on_tonic": self.closes_on_tonic}


def grammar_faults(abc: str, count_bars: bool = True) -> list[str]:
    """What `notation.abc_grammar` and (with ``count_bars``) the bar rule of
    `notation.bar_check` find wrong with the first tune of ``abc``, each once (with a count
    when it recurs)."""
    from musegen_cli.notation.abc_grammar import TuneGrammar
    from musegen_cli.notation.abc_patches import split_units, to_ascii
    from musegen_cli.notation.bar_check import BarCheck
    from musegen_cli.notation.formats import split_abc_tunes

    tunes = split_abc_tunes(abc)
    grammar, bars, found, misfits = TuneGrammar(), BarCheck(), [], []
    for unit in split_units(to_ascii(tunes[0] if tunes else abc)):
        found += grammar.add(unit)
        if bars.misfit(unit):
            misfits.append(unit.strip())
        bars.add(unit)
    if bars.misfit_at_end() and not bars.pending.strip():  # abc2abc times no bar left unclosed;
        misfits.append("(the last bar)")  # the missing bar line is a fault of its own (end_faults)
    if misfits and count_bars:
        found.append(f"{len(misfits)} bar{'s' if len(misfits) != 1 else ''} of the wrong length by abc2abc's count "
                     f"(first: {misfits[0][:24]})")
    found += grammar.end_faults()
    counts = Counter(found)
    return [fault if counts[fault] == 1 else f"{fault} (x{counts[fault]})" for fault in dict.fromkeys(found)]


def check_piece(abc: str, features: PieceFeatures | None = None) -> PieceCheck:
    """The strict check of one ABC piece (module doc); ``features`` are its `analyze_abc`
    features when the caller has them already (the check then parses nothing again)."""
    if features is None:
        from musegen_cli.analysis.features import analyze_abc

        features = analyze_abc(abc)
    reasons: list[str] = []
    if not features.parses:
        reasons.append(f"does not parse: {features.error}")
    elif not features.notes:
        reasons.append("no notes")
    elif features.bars_off_meter:
        count = features.bars_off_meter
        reasons.append(f"{count} bar{'s' if count != 1 else ''} off the meter")
    reasons += grammar_faults(abc, count_bars=not features.bars_off_meter)  # bars off: said once
    return PieceCheck(
        valid=not reasons,
        reasons=tuple(reasons),
        closes_on_tonic_triad=features.ends_in_tonic_triad,
        closes_on_tonic=features.ends_on_tonic,
    )
