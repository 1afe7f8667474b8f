import json
from dataclasses import asdict

import pytest
import torch

from musegen_plugins.abc_transformer.model import (
    PRESETS,
    AbcTransformer,
    KVCache,
    ModelConfig,
    char_grammar,
    estimate_costs,
    parameter_count,
    quantize_int8,
)
from musegen_cli.notation.abc_patches import PAD, encode

SIZE = PRESETS["debug"].patch_size


def _batch(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded patches [B, P, S] and their mask [B, P]."""
    encoded = [encode(t, SIZE) for t in texts]
    longest = max(map(len, encoded))
    patches = torch.full((len(texts), longest, SIZE), PAD)
    mask = torch.zeros(len(texts), longest)
    for row, ids in enumerate(encoded):
        patches[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    return patches, mask


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build_and_count(name):
    config = PRESETS[name]
    with torch.device("meta"):
        model = AbcTransformer(config)
    assert sum(p.numel() for p in model.parameters()) == parameter_count(config)
    assert ModelConfig(**json.loads(json.dumps(asdict(config)))) == config


def test_notagen_presets_match_published_sizes():
    published = {"notagen-small": 110e6, "notagen-medium": 244e6, "notagen-large": 516e6}
    for name, size in published.items():
        assert abs(parameter_count(PRESETS[name]) - size) / size < 0.01


def test_state_dict_holds_only_weights(tiny_model):
    state = tiny_model.state_dict()
    assert set(state) == {name for name, _ in tiny_model.named_parameters()}


def test_training_targets_are_allowed_by_grammar(tunes):
    allowed = char_grammar(SIZE, 128)
    for tune in tunes:
        for ids in encode(tune, SIZE)[1:]:
            for position, token in enumerate(ids):
                assert token == PAD or allowed[position, token]


def test_loss_is_mean_negative_log_prob(tiny_model, tunes):
    patches, mask = _batch(tunes)
    model = tiny_model.train()
    loss = model(patches, mask)
    tokens = ((patches[:, 1:] != PAD) & mask[:, 1:, None].bool()).sum()
    total = model.log_prob(patches, mask).sum()
    torch.testing.assert_close(loss, -total / tokens, rtol=1e-5, atol=1e-5)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    sampled = model(patches, mask, char_patch_sample=5)
    assert torch.isfinite(sampled)


def test_log_prob_is_sum_of_char_log_softmax(tiny_model, tunes):
    patches, mask = _batch(tunes[:2])
    start = torch.tensor([3, 5])  # e.g. begin patch + condition lines are not scored
    with torch.no_grad():
        got = tiny_model.log_prob(patches, mask, score_from_patch=start)
        for row in range(2):
            n = int(mask[row].sum())
            logp = tiny_model.logits(patches[row : row + 1, :n])[0].log_softmax(-1)
            expected = sum(
                float(logp[t - 1, i, patches[row, t, i]])
                for t in range(int(start[row]), n)
                for i in range(SIZE)
                if patches[row, t, i] != PAD
            )
            assert got[row].item() == pytest.approx(expected, rel=1e-5)


def test_cached_steps_match_full_forward(tiny_model, tunes):
    """Teacher-force two pieces of different lengths through both caches, one step at a time."""
    patches, mask = _batch(tunes[:2])
    lengths = torch.tensor([3, 6])  # ragged prefill, then one patch per row per step
    with torch.no_grad():
        full = tiny_model.logits(patches)
        patch_cache = tiny_model.new_cache("patch", 2)
        char_cache = tiny_model.new_cache("char", 2)
        states = tiny_model.prefill(patches[:, :6], lengths, patch_cache)
        rows = torch.arange(2)
        for step in range(8):
            at = lengths + step  # index of the patch being spelled, per row
            logits = [tiny_model.first_char(states, char_cache)]
            for i in range(SIZE - 1):
                logits.append(tiny_model.next_char(patches[rows, at, i], char_cache))
            logits = torch.stack(logits, dim=1)
            torch.testing.assert_close(logits, full[rows, at - 1], rtol=1e-4, atol=1e-4)
            states = tiny_model.push_patch(patches[rows, at], patch_cache)


def test_cache_drops_rows_and_refuses_overflow():
    cache = KVCache(layers=1, batch=3, heads=1, head_dim=2, max_len=4, dtype=torch.float32, device="cpu")
    cache.set_lengths(torch.tensor([1, 3, 2]))
    cache.keep(torch.tensor([0, 2]))
    assert cache.lengths.tolist() == [1, 2] and cache.k[0].shape[0] == 2 and cache.ragged
    mask = cache.step_mask()
    assert mask[:, 0, 0].tolist() == [[True, True, False], [True, True, True]]
    cache.advance(2)
    cache.check_room(0)
    with pytest.raises(ValueError, match="full"):
        cache.check_room(1)


def test_reduced_precision_models_agree(tiny_model, tunes):
    patches, mask = _batch(tunes[:1])
    with torch.no_grad():
        reference = tiny_model.log_prob(patches, mask)
        bf16 = AbcTransformer(tiny_model.config).eval()
        bf16.load_state_dict(tiny_model.state_dict())
        bf16 = bf16.to(torch.bfloat16)
        for model in (bf16, quantize_int8(tiny_model)):
            torch.testing.assert_close(model.log_prob(patches, mask).float(), reference, rtol=0.02, atol=0)


def test_cost_estimate_scales_sensibly():
    config = ModelConfig(patch_hidden=512, patch_layers=6, patch_heads=8, char_hidden=512,
                         char_layers=3, char_heads=8, max_patches=512)
    short, long = estimate_costs(config, 64), estimate_costs(config, 256)
    assert 25e6 < short.parameters < 35e6
    assert long.flops_per_char > short.flops_per_char and long.cache_bytes_per_char > short.cache_bytes_per_char
    assert long.weight_bytes_per_char == short.weight_bytes_per_char
    # Each character reads at least the character decoder's weights once.
    assert short.weight_bytes_per_char > 3 * 12 * 512 * 512 * 4
    assert estimate_costs(config, 64, bytes_per_weight=2).weight_bytes_per_char == short.weight_bytes_per_char / 2
