"""How well a muser model reconstructs, follows emotions and transfers elements.

    python benchmarks/muser.py --model runs/muser [--data corpus|DATASET|MIDI_FOLDER]
        [--pieces 64] [--per-quadrant 16] [--pairs 16] [--seed 0] [--threads 1] [--json]

Three tables:

* reconstruction: teacher-forced accuracy of each element's field (rhythm = bar/position,
  pitch, duration, velocity) over the first window of ``--pieces`` held-out pieces (the
  validation split, else training pieces);
* emotion: ``--per-quadrant`` pieces generated under each of Q1-Q4, measured by the
  analyzer (``analyze_score`` on the MIDI): the share that parse with notes, and the share
  whose analyzed quadrant is the one asked for (chance is about 25%);
* transfer: for ``--pairs`` (source, donor) pairs and each element, the source decoded with
  the donor's sub-space for that element, against the source decoded from its own codes
  (same seed): mean distance to the donor of the element's measured feature before and
  after, and the share of pairs that moved toward the donor. Pitch also reports the
  analyzer's mode agreement with the donor.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from musegen_cli.contract import GenerateRequest  # noqa: E402
from musegen_plugins.muser import data as muser_data  # noqa: E402
from musegen_plugins.muser import tokens  # noqa: E402
from musegen_plugins.muser.inference import MuserModel, load, swap_elements  # noqa: E402
from musegen_plugins.muser.model import EMOTIONS  # noqa: E402
from musegen_plugins.muser.training import first_windows, reconstruction  # noqa: E402

#: The measured feature each element's transfer is judged by (a tokens.Attributes field).
FEATURES = {"rhythm": "notes per bar", "pitch": "mean pitch", "duration": "mean log2 beats",
            "velocity": "mean velocity"}


def _analyze(midi: bytes):
    from musegen_cli.analysis.features import analyze_score
    from musegen_cli.errors import UserError
    from musegen_cli.notation.formats import parse_score

    try:
        return analyze_score(parse_score(midi, "midi"))
    except UserError:
        return None


def emotion_rows(model: MuserModel, per_quadrant: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    for index, quadrant in enumerate(EMOTIONS):
        request = GenerateRequest(conditions={"emotion": quadrant}, count=per_quadrant, seed=seed + index,
                                  sampling={"temperature": 1.0, "top_p": 0.95})
        features = [_analyze(midi) for midi in model.generate_midi(request)]
        usable = [f for f in features if f is not None and f.notes]
        rows.append({"quadrant": quadrant, "n": per_quadrant, "parse": len(usable) / per_quadrant,
                     "accuracy": sum(f.quadrant == quadrant for f in usable) / per_quadrant})
    return rows


def transfer_rows(model: MuserModel, pieces: list[muser_data.Piece], pairs: int, seed: int) -> list[dict[str, Any]]:
    sampling = {"temperature": 0.0}
    chosen = [(pieces[i % len(pieces)], pieces[(i + 1 + i // len(pieces)) % len(pieces)]) for i in range(pairs)]
    rows = []
    for element in tokens.ELEMENTS:
        column = tokens.ELEMENTS.index(element)
        before, after, closer, mode_before, mode_after, counted = 0.0, 0.0, 0, 0, 0, 0
        for number, (source, donor) in enumerate(chosen):
            generator = torch.Generator().manual_seed(seed + number)
            a, b = model.encode_rows(source.rows), model.encode_rows(donor.rows)
            own = model.decode_codes(a[None], sampling, generator)[0]
            mixed = model.decode_codes(swap_elements(a, b, [element])[None], sampling, generator)[0]
            target = tokens.attributes(donor.rows[: model.config.max_events - 1]).as_list()[column]
            d_before = abs(tokens.attributes(own).as_list()[column] - target)
            d_after = abs(tokens.attributes(mixed).as_list()[column] - target)
            before, after, counted = before + d_before, after + d_after, counted + 1
            closer += d_after < d_before
            if element == "pitch":
                donor_mode = _analyze(tokens.decode_midi(donor.rows)).mode if donor.rows else None
                own_f, mixed_f = _analyze(tokens.decode_midi(own)), _analyze(tokens.decode_midi(mixed))
                mode_before += own_f is not None and own_f.mode == donor_mode
                mode_after += mixed_f is not None and mixed_f.mode == donor_mode
        row = {"element": element, "feature": FEATURES[element], "pairs": counted,
               "distance_before": before / counted, "distance_after": after / counted, "moved_toward": closer / counted}
        if element == "pitch":
            row.update({"mode_match_before": mode_before / counted, "mode_match_after": mode_after / counted})
        rows.append(row)
    return rows


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"{title}: no rows"
    keys = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) and math.isfinite(value) else str(value)

    lines = [title, " | ".join(keys), " | ".join("---" for _ in keys)]
    lines += [" | ".join(cell(row.get(k, "")) for k in keys) for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a muser model directory")
    parser.add_argument("--data", default="corpus", help="dataset folder, MIDI folder or `corpus`")
    parser.add_argument("--pieces", type=int, default=64, help="held-out pieces for reconstruction and transfer")
    parser.add_argument("--per-quadrant", type=int, default=16)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (step-by-step decoding of small models is fastest on one)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    model = load(Path(args.model))
    dataset = muser_data.held_out(args.data)
    pieces = (dataset.valid or dataset.train)[: args.pieces]
    windows = first_windows(pieces, model.config.max_events - 1)
    report = {
        "model": args.model, "data": dataset.source, "pieces": len(pieces),
        "reconstruction": [{"element": k.removeprefix("acc_"), "accuracy": v}
                           for k, v in reconstruction(model.vae, windows, model.device).items()
                           if k.startswith("acc_")],
        "emotion": emotion_rows(model, args.per_quadrant, args.seed),
        "transfer": transfer_rows(model, pieces, args.pairs, args.seed),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_table("reconstruction (teacher-forced accuracy per element)", report["reconstruction"]))
        print()
        print(_table("emotion (analyzer-checked, per quadrant)", report["emotion"]))
        print()
        print(_table("element transfer (feature distance to the donor)", report["transfer"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
