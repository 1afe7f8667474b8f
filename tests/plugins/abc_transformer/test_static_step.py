"""The compiled steps behind `--compile`: the same logits and states as the eager steps."""

import pytest
import torch

from musegen_plugins.abc_transformer.model import PRESETS, AbcTransformer
from musegen_plugins.abc_transformer.sampling import SamplingConfig, generate
from musegen_plugins.abc_transformer.sampling import _CachedSteps
from musegen_plugins.abc_transformer.static_step import CompiledPatchSteps, StaticCharSteps
from musegen_cli.notation.abc_patches import PAD

PROMPTS = ["X:1\nM:4/4\nL:1/8\nK:D\n|:A2FA DAFA|", "X:2\nK:G\n"]


def test_the_static_step_gives_the_eager_steps_logits():
    torch.manual_seed(0)
    model = AbcTransformer(PRESETS["debug"]).eval()
    states, tokens = torch.randn(3, 32), torch.randint(40, 100, (15, 3))
    with torch.inference_mode():
        cache = model.new_cache("char", 3)
        eager = [model.first_char(states, cache)] + [model.next_char(t, cache) for t in tokens]
        steps = StaticCharSteps(model, 3, compile_step=False)
        static = [steps.first_char(states)] + [steps.next_char(t) for t in tokens]
    for a, b in zip(eager, static):
        assert torch.equal(a.isinf(), b.isinf())
        assert torch.allclose(a.nan_to_num(0, 0, 0), b.nan_to_num(0, 0, 0), atol=1e-5)


def test_a_steered_model_is_not_compiled():
    model = AbcTransformer(PRESETS["debug"]).eval()
    model.char_decoder.blocks[0].register_forward_hook(lambda *_: None)
    with pytest.raises(ValueError, match="steered"):
        generate(model, PROMPTS, SamplingConfig(max_patches=2), compile_steps=True)


@pytest.mark.slow
def test_compiled_generation_writes_what_eager_generation_writes():
    """Compiles with torch.compile (a C++ compiler on the CPU; tens of seconds)."""
    torch.manual_seed(0)
    model = AbcTransformer(PRESETS["debug"]).eval()
    config = SamplingConfig(temperature=0, max_patches=6, bar_retries=2)
    eager = generate(model, PROMPTS, config)
    compiled = generate(model, PROMPTS, config, compile_steps=True)
    assert compiled == eager


def test_a_step_that_cannot_be_compiled_is_a_one_line_error(monkeypatch):
    from musegen_cli.errors import UserError

    def broken(*_args, **_kwargs):
        raise RuntimeError("no C++ compiler found\nlong compiler log")

    model = AbcTransformer(PRESETS["debug"]).eval()
    steps = StaticCharSteps(model, 1)
    monkeypatch.setattr(steps.step, "step", broken)
    with pytest.raises(UserError, match=r"\(no C\+\+ compiler found\); generate without --compile"):
        steps.first_char(torch.zeros(1, 32))


def test_the_patch_step_gives_the_eager_pushes_states_and_keys_on_ragged_rows():
    torch.manual_seed(0)
    model = AbcTransformer(PRESETS["debug"]).eval()
    prompts = torch.randint(40, 100, (3, 5, 16))
    lengths = torch.tensor([5, 2, 3])  # rows of different lengths: each writes at its own position
    prompts[1, 2:] = PAD
    prompts[2, 3:] = PAD
    patches = torch.randint(40, 100, (4, 3, 16))
    with torch.inference_mode():
        caches = [model.new_cache("patch", 3, 12) for _ in range(2)]
        for cache in caches:
            model.prefill(prompts, lengths, cache)
        eager = [model.push_patch(patch, caches[0]) for patch in patches]
        step = CompiledPatchSteps(model, compile_step=False)
        pushed = [step.push(patch, caches[1]) for patch in patches]
    for a, b in zip(eager, pushed):
        assert torch.allclose(a, b, atol=1e-5)
    assert torch.equal(caches[0].lengths, caches[1].lengths)
    for a, b in zip(caches[0].k + caches[0].v, caches[1].k + caches[1].v):
        assert torch.allclose(a, b, atol=1e-5)


def test_patches_are_pushed_eagerly_when_patch_layers_are_steered():
    model = AbcTransformer(PRESETS["debug"]).eval()
    prompts, lengths = torch.randint(40, 100, (1, 2, 16)), torch.tensor([2])
    assert _CachedSteps(model, prompts, lengths, 4, static_chars=True).compiled_push is not None
    model.patch_decoder.blocks[1].register_forward_hook(lambda *_: None)
    assert _CachedSteps(model, prompts, lengths, 4, static_chars=True).compiled_push is None
