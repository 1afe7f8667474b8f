"""`--direction` specs: a directions folder plus its own settings, and the steering context.

A spec is `FOLDER[,key=value...]`, e.g. `directions/mode,strength=-0.3,schedule=linear-ramp`.
Keys are the fields of `SteeringSpec` (strength, label, layers, top_k, base, decay, schedule,
horizon, rate, probability; `layers` names the selection: all, top-k or exp).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from musegen_cli.errors import UnsupportedError, UserError
from musegen_cli.steering import directions as dirs
from musegen_cli.steering.injection import SteeringSpec, steering_callback

#: Measured on the bundled model (benchmarks/steering.py): strengths from 0.1 to about 0.8
#: steer; beyond that bars break. The default sits in that range.
DEFAULT_STRENGTH = 0.5
_FIELDS = {f.name: f for f in fields(SteeringSpec) if f.name != "directions"}
_ALIASES = {"layers": "selection"}
_NUMBERS = {"strength": float, "top_k": int, "base": float, "decay": float, "horizon": int, "rate": float,
            "probability": float}


def parse_direction(text: str) -> SteeringSpec:
    """A `SteeringSpec` from `FOLDER[,key=value...]` (strength defaults to DEFAULT_STRENGTH)."""
    folder, *settings = [part.strip() for part in text.split(",")]
    values: dict[str, Any] = {"strength": DEFAULT_STRENGTH}
    for item in settings:
        key, sep, value = item.partition("=")
        key = _ALIASES.get(key.strip(), key.strip())
        if not sep or key not in _FIELDS:
            known = ", ".join(sorted({*(k for k in _FIELDS if k != "selection"), "layers"}))
            raise UserError(f"--direction setting {item!r} is not KEY=VALUE with a known key ({known})")
        try:
            values[key] = _NUMBERS.get(key, str)(value.strip())
        except ValueError:
            raise UserError(f"--direction {key} must be a number, not {value.strip()!r}") from None
    return SteeringSpec(dirs.load(Path(folder)), **values)


def steering_context(family: Any, loaded: Any, model_path: Path, texts: Sequence[str], seed: int):
    """Check every spec against the model and return the family's steering context."""
    from musegen_cli.model_dir import weights_hash
    from musegen_cli.registry import Capability

    if not family.supports(Capability.LAYERS):
        raise UnsupportedError(f"the {family.name} family cannot be steered (it has no layers capability)")
    specs = [parse_direction(text) for text in texts]
    model_hash = weights_hash(model_path)
    names = set(family.layers.names(loaded))
    for spec in specs:
        spec.directions.check_model(model_hash)
        missing = set(spec.directions.vectors) - names
        if missing:
            raise UserError(f"the {spec.directions.concept} directions name layers this model lacks: "
                            f"{', '.join(sorted(missing))}")
    return steered(family, loaded, specs, seed)


def steered(family: Any, loaded: Any, specs: Sequence[SteeringSpec], seed: int):
    """The family's steering context for ``specs`` (checked already), or a context that does
    nothing when there are none: generation inside it is steered."""
    import contextlib

    if not specs:
        return contextlib.nullcontext()
    layers = sorted({name for spec in specs for name in spec.vectors()})
    return family.layers.steer(loaded, steering_callback(specs, seed), layers)
