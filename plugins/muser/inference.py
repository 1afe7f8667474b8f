"""Using a trained muser model: load it, generate under an emotion, transfer elements.

``load(model_dir, device)`` gives a ``MuserModel``, the loaded model of musegen's contract:
``generate`` returns ABC (the decoded MIDI converted by the notation code, so every writer of
``musegen generate`` works), ``generate_midi`` the native MIDI. ``transfer`` encodes two
pieces, swaps the chosen elements' latent sub-spaces and decodes: the element transfer of
``musegen generate --from A --take pitch,velocity --of B``.

Pieces longer than a window (``max_events`` events) are encoded from their first window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from musegen_cli.plugin import GenerateRequest, SamplingOptions, UserError, load_weights, read_manifest

from . import tokens
from .model import EMOTIONS, NO_EMOTION, ModelConfig, MuserVAE, Prior, sample_logits

FAMILY_NAME = "muser"


class MuserModel:
    """A loaded VQ-VAE and prior (eval mode, on one device)."""

    def __init__(self, vae: MuserVAE, prior: Prior) -> None:
        self.vae = vae.eval()
        self.prior = prior.eval()

    @property
    def config(self) -> ModelConfig:
        return self.vae.config

    @property
    def device(self) -> torch.device:
        return self.vae.to_latent.weight.device

    def known_conditions(self) -> dict[str, tuple[str, ...]]:
        return {}  # emotion, the only condition, has fixed values

    # ----- the latent space -------------------------------------------------------------

    def window(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """The first window of a piece as ids [1, L, fields]."""
        kept = [list(r) for r in rows[: self.config.max_events - 1]]
        return torch.tensor([kept], dtype=torch.long, device=self.device)

    @torch.no_grad()
    def encode_rows(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """Code indices [T, elements] of a piece's first window."""
        z, _ = self.vae.encode(self.window(rows))
        return self.vae.quantize(z)[1][0]

    @torch.no_grad()
    def sample_codes(self, emotion: str | None, count: int, sampling: Mapping[str, float],
                     generator: torch.Generator) -> torch.Tensor:
        """Codes [count, T, elements] drawn from the prior under an emotion (or none)."""
        condition = NO_EMOTION if emotion is None else EMOTIONS.index(emotion)
        emotions = torch.full((count,), condition, dtype=torch.long, device=self.device)
        codes = torch.zeros((count, 0), dtype=torch.long, device=self.device)
        for _ in range(self.prior.length):
            logits = self.prior.logits(emotions, codes)[:, -1]
            pick = sample_logits(logits, *_sampling(sampling), generator)
            codes = torch.cat([codes, pick[:, None]], dim=1)
        return codes.view(count, self.config.latent_len, len(tokens.ELEMENTS))

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor, sampling: Mapping[str, float], generator: torch.Generator,
                     max_bars: int | None = None) -> list[list[list[int]]]:
        """Compound-word rows of each piece decoded from codes [B, T, elements].

        Every step samples the event type first, then each field among the ids that type
        allows (``tokens.grammar_masks``). A piece opens with a bar, may end (EOS) once it
        holds a note, and ends after ``max_bars`` bars or when the window is full."""
        vae, count = self.vae, codes.shape[0]
        memory = vae.memory(vae.latents_of(codes))
        fields = len(tokens.FIELDS)
        inputs = torch.full((count, 1, fields), tokens.BOS, dtype=torch.long, device=self.device)
        masks = {kind: tokens.grammar_masks(kind, self.device) for kind in (tokens.METRIC, tokens.NOTE)}
        bar = tokens.tokenizer().vocab[1]["Bar_None"]
        done = torch.zeros(count, dtype=torch.bool, device=self.device)
        bars = torch.zeros(count, dtype=torch.long, device=self.device)
        has_note = torch.zeros(count, dtype=torch.bool, device=self.device)
        pieces: list[list[list[int]]] = [[] for _ in range(count)]
        settings = _sampling(sampling)
        for step in range(self.config.max_events - 1):
            hidden = vae.hidden(memory, inputs)[:, -1]
            type_logits = vae.heads[0](hidden)
            allowed = torch.zeros_like(type_logits, dtype=torch.bool)
            allowed[:, tokens.METRIC] = True
            allowed[:, tokens.NOTE] = step > 0
            allowed[:, tokens.EOS] = has_note
            kind = sample_logits(type_logits.masked_fill(~allowed, float("-inf")), *settings, generator)
            row = [kind]
            typed = hidden + vae.type_embed(kind)
            is_note = (kind == tokens.NOTE)[:, None]
            for field in range(1, fields):
                mask = torch.where(is_note, masks[tokens.NOTE][field], masks[tokens.METRIC][field])
                if field == 1 and step == 0:
                    mask = torch.zeros_like(mask)
                    mask[:, bar] = True
                logits = vae.heads[field](typed).masked_fill(~mask, float("-inf"))
                row.append(sample_logits(logits, *settings, generator))
            event = torch.stack(row, dim=-1)
            bars += (kind == tokens.METRIC) & (event[:, 1] == bar)
            has_note |= kind == tokens.NOTE
            finished = kind == tokens.EOS
            if max_bars is not None:
                finished |= bars > max_bars
            done |= finished
            for index in (~done).nonzero().flatten().tolist():
                pieces[index].append(event[index].tolist())
            if bool(done.all()):
                break
            inputs = torch.cat([inputs, event[:, None]], dim=1)
        return pieces

    # ----- the contract ------------------------------------------------------------------

    def generate_midi(self, request: GenerateRequest) -> list[bytes]:
        """``request.count`` pieces as MIDI files under the request's emotion."""
        emotion = request.conditions.get("emotion")
        if emotion is not None and emotion not in EMOTIONS:
            raise UserError(f"invalid emotion {emotion!r}; valid values: {', '.join(EMOTIONS)}")
        if request.prime:
            raise UserError("the muser family does not continue a prime; use --from/--take/--of to reuse a piece")
        generator = torch.Generator(device=self.device).manual_seed(request.seed)
        codes = self.sample_codes(emotion, request.count, request.sampling, generator)
        rows = self.decode_codes(codes, request.sampling, generator, request.max_bars)
        return [tokens.decode_midi(piece) for piece in rows]

    def generate(self, request: GenerateRequest) -> list[str]:
        return [midi_to_abc(midi) for midi in self.generate_midi(request)]

    def transfer_midi(self, source: bytes, donor: bytes, take: Sequence[str],
                      request: GenerateRequest) -> list[bytes]:
        """``source`` (MIDI) with the ``take`` elements of ``donor`` (MIDI): both are encoded,
        the chosen sub-spaces' codes copied from the donor, and the result decoded
        ``request.count`` times (seeded sampling)."""
        unknown = [name for name in take if name not in tokens.ELEMENTS]
        if unknown or not take:
            raise UserError(f"cannot take element {unknown[0] if unknown else ''!r}; "
                            f"elements: {', '.join(tokens.ELEMENTS)}")
        codes = swap_elements(self.encode_rows(tokens.encode_midi(source)),
                              self.encode_rows(tokens.encode_midi(donor)), take)
        generator = torch.Generator(device=self.device).manual_seed(request.seed)
        rows = self.decode_codes(codes[None].expand(request.count, -1, -1), request.sampling, generator,
                                 request.max_bars)
        return [tokens.decode_midi(piece) for piece in rows]

    def transfer(self, source: Path, donor: Path, take: Sequence[str], request: GenerateRequest) -> list[str]:
        """Element transfer between two music files (MIDI, or anything musegen converts to
        MIDI), as ABC like ``generate``."""
        pieces = self.transfer_midi(read_midi(source), read_midi(donor), take, request)
        return [midi_to_abc(midi) for midi in pieces]


def swap_elements(source: torch.Tensor, donor: torch.Tensor, take: Sequence[str]) -> torch.Tensor:
    """Codes [T, elements] of ``source`` whose ``take`` columns come from ``donor``."""
    mixed = source.clone()
    for name in take:
        column = tokens.ELEMENTS.index(name)
        mixed[:, column] = donor[:, column]
    return mixed


def _sampling(sampling: Mapping[str, float]) -> tuple[float, int, float]:
    """(temperature, top_k, top_p): the request's, else musegen's defaults."""
    chosen = SamplingOptions.of(sampling).resolved()
    return float(chosen["temperature"]), int(chosen["top_k"]), float(chosen["top_p"])


def read_midi(path: Path) -> bytes:
    """MIDI bytes of a music file: MIDI as is, other formats converted by the notation code."""
    from musegen_cli.plugin import convert, detect_format, read_bytes

    data = read_bytes(path)
    fmt = detect_format(str(path), data)
    if fmt == "midi":
        return data
    piece = convert(data, fmt, "midi")[0]
    if piece.error is not None or not piece.outputs:
        raise UserError(f"cannot render {path} as MIDI: {piece.error}")
    return piece.outputs[0]


def midi_to_abc(midi: bytes) -> str:
    """ABC of a decoded piece, through music21 (what the generate writers take); a piece the
    converter cannot read comes back as an ABC tune with no notes, which the checks flag."""
    from musegen_cli.plugin import convert

    try:
        piece = convert(midi, "midi", "abc")[0]
    except UserError as exc:
        return f"X:1\n% muser: {exc}\nK:C\n"
    if piece.error is not None or not piece.outputs:
        return f"X:1\n% muser: {piece.error}\nK:C\n"
    return piece.outputs[0].decode("utf-8")


def config_of(manifest: Mapping) -> ModelConfig:
    try:
        return ModelConfig(**manifest["config"]["model"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"the model's musegen.json has no valid muser config ({exc})") from None


def split_weights(weights: Mapping[str, torch.Tensor]) -> tuple[dict, dict]:
    vae = {k.removeprefix("vae."): v for k, v in weights.items() if k.startswith("vae.")}
    prior = {k.removeprefix("prior."): v for k, v in weights.items() if k.startswith("prior.")}
    return vae, prior


def load(model_dir: Path, device: torch.device | str = "cpu") -> MuserModel:
    manifest = read_manifest(Path(model_dir))
    if manifest["family"] != FAMILY_NAME:
        raise UserError(f"{model_dir} holds a {manifest['family']!r} model, not a muser model")
    config = config_of(manifest)
    vae, prior = MuserVAE(config), Prior(config)
    vae_weights, prior_weights = split_weights(load_weights(Path(model_dir), device))
    vae.load_state_dict(vae_weights)
    prior.load_state_dict(prior_weights)
    return MuserModel(vae.to(device), prior.to(device))
