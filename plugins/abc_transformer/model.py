"""The abc-transformer: a hierarchical decoder over bar patches of ABC text.

Two causal transformers share one block design (pre-LayerNorm, learned positions, PyTorch's
scaled-dot-product attention):

* the **patch decoder** reads one vector per patch (the sum of a learned embedding per
  (position, character) pair, i.e. a linear map of the one-hot patch, as in NotaGen) and
  outputs a state per patch;
* the **character decoder** spells the next patch from that state: its first input is the
  state, then the characters written so far, and it predicts the patch's characters and
  its closing ``EOP``.

So patch ``t``'s state predicts the characters of patch ``t + 1``. Shapes below use B batch,
P patches, S = patch_size characters per patch, V vocabulary, H hidden size.

A fixed "grammar" mask keeps impossible tokens out of every distribution: a patch starts
with a character or ``END`` and continues with characters or ``EOP``. Training, scoring and
sampling all see the same masked distribution, so log-probabilities match what is sampled.

Imported NotaGen and TunesFormer/EMusicGen checkpoints (``formats``) are this model with a
few options (``ModelConfig``): GPT-2's biases on every linear map and on the patch embedding,
the character head tied to the character embedding, a character position table of the
source's length, and the source's own patch layout (``text_format``: its special ids, no
grammar mask, and for TunesFormer a begin id stored at the head of every patch that the
character decoder never spells).

Generation keeps preallocated key/value caches at both levels (``KVCache``); rows of a
batch may have different lengths and rows that finish are dropped (``KVCache.keep``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from musegen_cli.plugin import END, EOP, PAD, TEXT_IDS, VOCAB_SIZE


@dataclass(frozen=True)
class ModelConfig:
    """Shape of an abc-transformer; plain values only, so ``asdict`` gives its JSON form."""

    patch_size: int = 16
    vocab_size: int = VOCAB_SIZE
    max_patches: int = 1024
    patch_hidden: int = 256
    patch_layers: int = 4
    patch_heads: int = 4
    char_hidden: int = 256
    char_layers: int = 2
    char_heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.0
    #: GPT-2's biases on every linear map of the blocks and on the patch embedding.
    bias: bool = False
    #: The character head is the character embedding (GPT-2's tied ``lm_head``).
    tied_head: bool = False
    #: Rows of the character position table; None: ``patch_size`` (NotaGen keeps one more).
    char_positions: int | None = None
    #: How text becomes patches: "musegen", or an imported source's layout (``formats``).
    text_format: str = "musegen"

    @property
    def spell_offset(self) -> int:
        """Ids at the head of every stored patch that the character decoder never spells
        (TunesFormer stores a begin id there); the decoder spells the rest."""
        return 1 if self.text_format == "tunesformer" else 0

    @property
    def spell_width(self) -> int:
        """Characters the character decoder spells per patch."""
        return self.patch_size - self.spell_offset


def _notagen(patch_layers: int, char_layers: int, hidden: int, max_patches: int) -> ModelConfig:
    # NotaGen's published shapes: patch size 16, 64-dim heads, same width at both levels.
    return ModelConfig(
        patch_size=16, max_patches=max_patches, patch_hidden=hidden, patch_layers=patch_layers,
        patch_heads=hidden // 64, char_hidden=hidden, char_layers=char_layers,
        char_heads=hidden // 64, dropout=0.1,
    )


PRESETS: dict[str, ModelConfig] = {
    # Tiny random weights for tests: builds and runs in milliseconds.
    "debug": ModelConfig(
        patch_size=16, max_patches=256, patch_hidden=32, patch_layers=2, patch_heads=2,
        char_hidden=32, char_layers=1, char_heads=2,
    ),
    # About 6M parameters: an hour on 2 CPU cores covers several epochs of a folk-size corpus.
    "small": ModelConfig(
        patch_size=16, max_patches=512, patch_hidden=256, patch_layers=6, patch_heads=4,
        char_hidden=192, char_layers=2, char_heads=3, dropout=0.1,
    ),
    "notagen-small": _notagen(12, 3, 768, 2048),
    "notagen-medium": _notagen(16, 3, 1024, 2048),
    "notagen-large": _notagen(20, 6, 1280, 1024),
}


def visible_keys(lengths: Tensor, filled: int) -> Tensor:
    """[B, 1, 1, filled] bool: the keys a one-token step of each row may see, where row i
    writes its new key at position ``lengths[i]``."""
    keys = torch.arange(filled, device=lengths.device)
    return (keys <= lengths[:, None])[:, None, None, :]


class KVCache:
    """Preallocated keys and values for every layer of one decoder level.

    Rows may hold different numbers of positions (``lengths``); a one-token step writes
    each row's new key at that row's own length and masks what lies beyond it. Buffers
    are allocated once, so a step costs no reallocation or copying. Each layer has buffers
    of its own [B, heads, max_len, d] (not views of one tensor), so that a compiled step
    can write into them in place: torch.compile copies a whole buffer it cannot prove unaliased.
    """

    def __init__(self, layers: int, batch: int, heads: int, head_dim: int, max_len: int,
                 dtype: torch.dtype, device: torch.device) -> None:
        self.k = [torch.zeros(batch, heads, max_len, head_dim, dtype=dtype, device=device) for _ in range(layers)]
        self.v = [torch.zeros_like(k) for k in self.k]
        self.max_len = max_len
        self.set_lengths(torch.zeros(batch, dtype=torch.long, device=device))

    def set_lengths(self, lengths: Tensor) -> None:
        """Declare how many positions of each row are valid (after a padded prefill)."""
        self.lengths = lengths.clone()
        self.rows = torch.arange(len(lengths), device=lengths.device)
        self.longest = int(lengths.max()) if len(lengths) else 0
        self.ragged = len(lengths) > 1 and int(lengths.min()) != self.longest

    def keep(self, rows: Tensor) -> None:
        """Drop every row not listed (finished pieces), so later steps skip them."""
        self.k, self.v = [k[rows] for k in self.k], [v[rows] for v in self.v]
        self.set_lengths(self.lengths[rows])

    def store(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Write this step's keys/values [B, heads, T, d]; return what the step attends to."""
        steps = k.shape[2]
        if steps > 1:  # prefill: every row starts empty and writes positions 0..T-1
            self.k[layer][:, :, :steps], self.v[layer][:, :, :steps] = k, v
            return k, v
        if self.ragged:
            self.k[layer][self.rows, :, self.lengths] = k[:, :, 0]
            self.v[layer][self.rows, :, self.lengths] = v[:, :, 0]
        else:  # every row writes the same position: a plain slice copy, no scatter
            self.k[layer][:, :, self.longest : self.longest + 1] = k
            self.v[layer][:, :, self.longest : self.longest + 1] = v
        return self.k[layer][:, :, : self.longest + 1], self.v[layer][:, :, : self.longest + 1]

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool) -> Tensor:
        """Attention of queries [B, heads, T, d] to what `store` returned."""
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)

    def step_mask(self) -> Tensor | None:
        """Keys each row may see in a one-token step, [B, 1, 1, longest + 1]; None if all."""
        return visible_keys(self.lengths, self.longest + 1) if self.ragged else None

    def check_room(self, steps: int) -> None:
        if self.longest + steps > self.max_len:
            raise ValueError(f"KV cache is full ({self.max_len} positions)")

    def advance(self, steps: int) -> None:
        self.lengths += steps
        self.longest += steps


class Attention(nn.Module):
    """Multi-head causal self-attention. No dropout on attention weights: it would force
    PyTorch's slow reference kernel; dropout acts on the residual branches instead."""

    def __init__(self, dim: int, heads: int, bias: bool = False) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: Tensor, cache: KVCache | None, layer: int, mask: Tensor | None) -> Tensor:
        batch, steps, dim = x.shape
        q, k, v = self.qkv(x).view(batch, steps, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        causal = mask is None and (cache is None or steps > 1)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        else:
            k, v = cache.store(layer, k, v)
            y = cache.attend(q, k, v, mask, causal)
        return self.proj(y.transpose(1, 2).reshape(batch, steps, dim))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int, dropout: float, bias: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_ratio * dim, bias=bias),
            nn.GELU(approximate="tanh"),
            nn.Linear(mlp_ratio * dim, dim, bias=bias),
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, cache: KVCache | None, layer: int, mask: Tensor | None) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x), cache, layer, mask))
        return x + self.drop(self.mlp(self.norm2(x)))


class Decoder(nn.Module):
    """A causal transformer over input vectors, with or without a KV cache."""

    def __init__(self, dim: int, layers: int, heads: int, mlp_ratio: int, dropout: float,
                 max_len: int, bias: bool = False) -> None:
        super().__init__()
        self.positions = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, dropout, bias) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, cache: KVCache | None = None) -> Tensor:
        """[B, T, H] -> [B, T, H]. With a cache: a prefill (T > 1, empty cache) or one step."""
        steps = x.shape[1]
        if cache is not None:
            cache.check_room(steps)
        if cache is None or steps > 1:
            if cache is not None and cache.longest:
                raise ValueError("a multi-position step needs an empty cache")
            positions, mask = torch.arange(steps, device=x.device), None
        elif cache.ragged:
            positions, mask = cache.lengths[:, None], cache.step_mask()
        else:
            positions, mask = torch.tensor([cache.longest], device=x.device), None
        x = self.drop(x + self.positions(positions))
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer, mask)
        if cache is not None:
            cache.advance(steps)
        return self.norm(x)


def char_grammar(patch_size: int, vocab_size: int, text_format: str = "musegen") -> Tensor:
    """[S, V] bool: which tokens may stand at each position of a patch. An imported
    format allows every token everywhere, as its source's softmax does."""
    if text_format != "musegen":
        return torch.ones(patch_size, vocab_size, dtype=torch.bool)
    allowed = torch.zeros(patch_size, vocab_size, dtype=torch.bool)
    allowed[:, list(TEXT_IDS)] = True
    allowed[0, END] = True
    allowed[1:, EOP] = True
    return allowed


class AbcTransformer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = self.config = config
        if c.vocab_size != VOCAB_SIZE:
            raise ValueError(f"vocab_size must be {VOCAB_SIZE} (ASCII ids)")
        if c.char_positions is not None and c.char_positions < c.spell_width:
            raise ValueError(f"char_positions must be at least {c.spell_width}")
        if c.tied_head and c.patch_hidden != c.char_hidden:
            raise ValueError("a tied character head needs patch_hidden == char_hidden")
        self.patch_embed = nn.Embedding(c.patch_size * c.vocab_size, c.patch_hidden)
        #: The bias of the linear map over one-hot patches (GPT-2 sources); None without.
        self.patch_bias = nn.Parameter(torch.zeros(c.patch_hidden)) if c.bias else None
        self.patch_decoder = Decoder(c.patch_hidden, c.patch_layers, c.patch_heads, c.mlp_ratio,
                                     c.dropout, c.max_patches, c.bias)
        self.state_to_char = (nn.Identity() if c.patch_hidden == c.char_hidden
                              else nn.Linear(c.patch_hidden, c.char_hidden, bias=False))
        self.char_embed = nn.Embedding(c.vocab_size, c.char_hidden)
        self.char_decoder = Decoder(c.char_hidden, c.char_layers, c.char_heads, c.mlp_ratio,
                                    c.dropout, c.char_positions or c.patch_size, c.bias)
        self.head = nn.Linear(c.char_hidden, c.vocab_size, bias=False)
        self.register_buffer("grammar", char_grammar(c.spell_width, c.vocab_size, c.text_format),
                             persistent=False)
        self.apply(self._init_weights)
        if c.tied_head:
            self.head.weight = self.char_embed.weight
        for name, p in self.named_parameters():  # GPT-2: shrink residual-branch outputs by depth
            if name.endswith(("attn.proj.weight", "mlp.2.weight")):
                layers = c.patch_layers if name.startswith("patch") else c.char_layers
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def saved_state(self) -> dict[str, Tensor]:
        """The state dict as a model folder stores it: a tied head is stored once (as the
        character embedding), since safetensors refuses two names for one tensor."""
        state = self.state_dict()
        if self.config.tied_head:
            del state["head.weight"]
        return state

    def load_saved_state(self, state: dict[str, Tensor]) -> None:
        """Load what ``saved_state`` gave (strictly: every weight, nothing else)."""
        if self.config.tied_head and "char_embed.weight" in state:
            state = {**state, "head.weight": state["char_embed.weight"]}
        self.load_state_dict(state)

    # ----- the two levels -------------------------------------------------------------

    def embed_patches(self, patches: Tensor) -> Tensor:
        """[B, P, S] ids -> [B, P, H]: a linear map of each one-hot patch, done as a bag sum."""
        batch, count, size = patches.shape
        offsets = torch.arange(size, device=patches.device) * self.config.vocab_size
        flat = (patches + offsets).reshape(-1, size)
        embedded = F.embedding_bag(flat, self.patch_embed.weight, mode="sum").view(batch, count, -1)
        return embedded if self.patch_bias is None else embedded + self.patch_bias

    def patch_states(self, patches: Tensor) -> Tensor:
        """[B, P, S] -> [B, P, H]: state after each patch (no cache; training and reference path)."""
        return self.patch_decoder(self.embed_patches(patches))

    def char_logits(self, states: Tensor, chars: Tensor) -> Tensor:
        """States [N, H] and the first T characters of the next patches [N, T] -> [N, T + 1, V]."""
        x = torch.cat((self.state_to_char(states)[:, None], self.char_embed(chars)), dim=1)
        return self._logits(self.char_decoder(x), first_position=0)

    def _logits(self, hidden: Tensor, first_position: int) -> Tensor:
        allowed = self.grammar[first_position : first_position + hidden.shape[1]]
        return self.head(hidden).masked_fill(~allowed, float("-inf"))

    # ----- training and scoring --------------------------------------------------------

    def forward(self, patches: Tensor, patch_mask: Tensor, char_patch_sample: int | None = None) -> Tensor:
        """Mean cross-entropy per character of right-padded pieces [B, P, S] (mask [B, P]).

        ``char_patch_sample`` spells only that many randomly chosen target patches, as
        NotaGen does to bound the character decoder's memory on long pieces.
        """
        states = self.patch_states(patches[:, :-1])
        real = patch_mask[:, 1:].bool()
        states, targets = states[real], patches[:, 1:, self.config.spell_offset :][real]
        if char_patch_sample is not None and char_patch_sample < len(targets):
            pick = torch.randperm(len(targets), device=targets.device)[:char_patch_sample]
            states, targets = states[pick], targets[pick]
        logits = self.char_logits(states, targets[:, :-1])
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=PAD)

    def logits(self, patches: Tensor) -> Tensor:
        """Teacher-forced logits [B, P - 1, W, V] for the spelled characters (W =
        ``spell_width``: every position but a stored begin id) of every patch after the first."""
        batch, count, _ = patches.shape
        states = self.patch_states(patches[:, :-1])
        chars = patches[:, 1:, self.config.spell_offset : -1]
        out = self.char_logits(states.flatten(0, 1), chars.flatten(0, 1))
        return out.view(batch, count - 1, self.config.spell_width, -1)

    def log_prob(self, patches: Tensor, patch_mask: Tensor, score_from_patch: int | Tensor = 1) -> Tensor:
        """Summed log-probability [B] of every token in patches ``score_from_patch`` onwards.

        Patches before ``score_from_patch`` (the begin patch and any condition lines) are
        context only; pass a [B] tensor when prompts differ in length.
        """
        logits = self.logits(patches).float()
        targets = patches[:, 1:, self.config.spell_offset :]
        token_logp = -F.cross_entropy(
            logits.flatten(0, 2), targets.flatten(), ignore_index=PAD, reduction="none"
        ).view(targets.shape)
        index = torch.arange(1, patches.shape[1], device=patches.device)
        start = torch.as_tensor(score_from_patch, device=patches.device).reshape(-1, 1)
        scored = patch_mask[:, 1:].bool() & (index >= start)
        return torch.where(scored[..., None], token_logp, 0.0).sum((1, 2))

    # ----- cached generation steps ------------------------------------------------------

    def new_cache(self, level: str, batch: int, max_patches: int | None = None) -> KVCache:
        """An empty cache for the ``"patch"`` or ``"char"`` decoder; the patch cache holds
        ``max_patches`` positions (default: the model's whole context)."""
        c, p = self.config, self.char_embed.weight
        if level == "patch":
            length = min(max_patches or c.max_patches, c.max_patches)
            shape = (c.patch_layers, batch, c.patch_heads, c.patch_hidden // c.patch_heads, length)
        else:
            shape = (c.char_layers, batch, c.char_heads, c.char_hidden // c.char_heads, c.spell_width)
        return KVCache(*shape, dtype=p.dtype, device=p.device)

    def prefill(self, patches: Tensor, lengths: Tensor, cache: KVCache) -> Tensor:
        """Run right-padded prompts [B, P, S] of ``lengths`` patches; state [B, H] after each."""
        hidden = self.patch_decoder(self.embed_patches(patches), cache)
        cache.set_lengths(lengths)
        return hidden[torch.arange(len(lengths), device=hidden.device), lengths - 1]

    def push_patch(self, patch: Tensor, cache: KVCache) -> Tensor:
        """Append one patch [B, S] per row; the state [B, H] that predicts the next patch."""
        return self.patch_decoder(self.embed_patches(patch[:, None]), cache)[:, 0]

    def first_char(self, states: Tensor, cache: KVCache) -> Tensor:
        """Start spelling a patch from its state [B, H]: logits [B, V] of its first character."""
        cache.set_lengths(torch.zeros_like(cache.lengths))
        return self._char_step(self.state_to_char(states), cache)

    def next_char(self, tokens: Tensor, cache: KVCache) -> Tensor:
        """Feed the characters [B] just written; logits [B, V] of the next ones."""
        return self._char_step(self.char_embed(tokens), cache)

    def _char_step(self, x: Tensor, cache: KVCache) -> Tensor:
        position = cache.longest
        return self._logits(self.char_decoder(x[:, None], cache), position)[:, 0]


# ----- size, compute and memory traffic --------------------------------------------------


def _decoder_params(hidden: int, layers: int, mlp_ratio: int, bias: bool = False) -> int:
    """Weights a decoder step multiplies by (positions excluded): blocks and final LayerNorm."""
    per_layer = 4 * hidden * hidden + 2 * mlp_ratio * hidden * hidden + 4 * hidden  # + 2 LayerNorms
    if bias:
        per_layer += (5 + mlp_ratio) * hidden  # qkv, attention output, both MLP layers
    return layers * per_layer + 2 * hidden


def parameter_count(config: ModelConfig) -> int:
    """Number of weights of a model of this shape, without building it."""
    c = config
    state_to_char = 0 if c.patch_hidden == c.char_hidden else c.patch_hidden * c.char_hidden
    heads = 1 if c.tied_head else 2
    return (c.patch_size * c.vocab_size * c.patch_hidden + c.max_patches * c.patch_hidden
            + (c.patch_hidden if c.bias else 0)
            + _decoder_params(c.patch_hidden, c.patch_layers, c.mlp_ratio, c.bias)
            + state_to_char + heads * c.vocab_size * c.char_hidden
            + (c.char_positions or c.patch_size) * c.char_hidden
            + _decoder_params(c.char_hidden, c.char_layers, c.mlp_ratio, c.bias))


@dataclass(frozen=True)
class CostEstimate:
    """Work per generated character at batch 1 with KV caches: the bounds a benchmark compares to."""

    parameters: int
    flops_per_char: float
    weight_bytes_per_char: float
    cache_bytes_per_char: float


def estimate_costs(config: ModelConfig, context_patches: int, chars_per_patch: float | None = None,
                   bytes_per_weight: int = 4) -> CostEstimate:
    """FLOPs and bytes moved per character, amortizing one patch step over its characters.

    A patch of n characters costs one patch-decoder step over ``context_patches`` and
    n + 1 character steps (the last predicts ``EOP``). ``chars_per_patch`` defaults to
    patch_size - 1; pass the corpus mean for a realistic figure. Each step reads every
    weight it multiplies by (batch 1), and all cached keys/values before it.
    """
    c = config
    n = chars_per_patch if chars_per_patch is not None else c.patch_size - 1
    char_steps = min(n + 1, c.patch_size)
    patch_weights = _decoder_params(c.patch_hidden, c.patch_layers, c.mlp_ratio)
    char_weights = _decoder_params(c.char_hidden, c.char_layers, c.mlp_ratio) + c.vocab_size * c.char_hidden
    mean_char_position = (char_steps - 1) / 2
    patch_attention = 4 * c.patch_layers * c.patch_hidden * context_patches
    char_attention = 4 * c.char_layers * c.char_hidden * mean_char_position
    if c.patch_hidden != c.char_hidden:
        patch_weights += c.patch_hidden * c.char_hidden  # state_to_char runs once per patch
    flops_patch = 2 * patch_weights + patch_attention
    flops_char = 2 * char_weights + char_attention
    bytes_patch = (patch_weights + c.patch_size * c.patch_hidden) * bytes_per_weight
    bytes_char = char_weights * bytes_per_weight
    cache_patch = 2 * c.patch_layers * c.patch_hidden * context_patches * bytes_per_weight
    cache_char = 2 * c.char_layers * c.char_hidden * mean_char_position * bytes_per_weight
    return CostEstimate(
        parameters=parameter_count(c),
        flops_per_char=(flops_patch + char_steps * flops_char) / n,
        weight_bytes_per_char=(bytes_patch + char_steps * bytes_char) / n,
        cache_bytes_per_char=(cache_patch + char_steps * cache_char) / n,
    )


def quantize_int8(model: AbcTransformer) -> nn.Module:
    """A copy for CPU inference whose linear layers hold int8 weights (dynamic quantization).

    About twice the batch-1 speed of float32 on CPU, where generation is bound by reading
    weights; bfloat16 weights barely help there. Uses ``torch.ao.quantization``, which
    PyTorch has deprecated but still ships; the copy is for sampling, not for saving.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
