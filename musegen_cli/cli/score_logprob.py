"""`musegen score --logprob --model M`: how likely a model finds each piece.

Each piece is scored as the model's training objective scores it, in the model's own text
format (an imported NotaGen model reads NotaGen's interleaved layout): the summed natural-log
probability of its characters, how many characters that covers, and bits per character.
The family provides the numbers (`LogProbability.training_log_prob`); this module asks for
them and shows them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from musegen_cli.errors import UserError

if TYPE_CHECKING:
    from musegen_cli.scoring.inputs import InputPiece


def add_logprob(rows: list[dict[str, Any]], pieces: list[InputPiece], model: str, device: str | None) -> None:
    """Add ``logprob``, ``chars`` and ``bits_per_char`` to every row (None where a piece has
    no ABC text to score)."""
    from musegen_cli.cli.options import prepare_device
    from musegen_cli.models import resolve_model
    from musegen_cli.registry import get_registry

    registry = get_registry()
    info = resolve_model(model, registry)
    family = registry.get(info.family)
    if not family.features.training_log_prob:
        raise UserError(f"the {family.name} family cannot score pieces by log-probability; choose another --model")
    loaded = family.sampler.load(info.path, prepare_device(device))
    texts = [(i, piece.abc()) for i, piece in enumerate(pieces)]
    texts = [(i, abc) for i, abc in texts if abc]
    scores = family.log_probability.training_log_prob(loaded, [abc for _, abc in texts]) if texts else []
    for row in rows:
        row.update(logprob=None, chars=None, bits_per_char=None)
    for (i, _), (logprob, chars) in zip(texts, scores):
        rows[i].update(logprob=logprob, chars=chars,
                       bits_per_char=-logprob / chars / math.log(2) if chars else None)


def render_logprob_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from musegen_cli.cli.output import stdout_console

    table = Table("piece", "log p (nats)", "chars", "bits/char")
    for row in rows:
        if row["logprob"] is None:
            table.add_row(row["piece"], "-", "-", "-")
        else:
            table.add_row(row["piece"], f"{row['logprob']:.2f}", str(row["chars"]), f"{row['bits_per_char']:.3f}")
    stdout_console.print(table)
