"""The text encoder: stable hashed tokens, any text encodes, shapes and padding invariance."""

from __future__ import annotations

import subprocess
import sys

import torch

from musegen_cli.scoring.text_encoder import BEGIN_ID, TextEncoder, TextEncoderConfig, token_ids, words

CONFIG = TextEncoderConfig(buckets=512, max_tokens=16, hidden=32, layers=1, heads=2, dim=16, dropout=0.0)


def test_words_keep_meters_apostrophes_and_sharps() -> None:
    assert words("Happy, in 6/8 TIME; O'Neill's F# tune!") == ["happy", "in", "6/8", "time", "o'neill's", "f#", "tune"]


def test_token_ids_are_stable_across_processes() -> None:
    text = "a calm tune in D dorian from O'Neill's Music of Ireland"
    here = token_ids(text, 4096, 48)
    code = ("from musegen_cli.scoring.text_encoder import token_ids;"
            f"print(token_ids({text!r}, 4096, 48))")
    for seed in ("1", "2"):  # Python's own hash() would differ between these processes
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env={"PYTHONHASHSEED": seed, "PATH": ""})
        assert result.stdout.strip() == str(here)
    assert here[0] == BEGIN_ID and all(2 <= i < 4096 for i in here[1:])


def test_any_text_encodes_to_unit_vectors() -> None:
    torch.manual_seed(0)
    model = TextEncoder(CONFIG).eval()
    texts = ["", "ünïcödé ♪ text", "word " * 100, "a sad tune"]
    ids, mask = model.tokenize(texts)
    assert ids.shape == (4, CONFIG.max_tokens) and mask[:, 0].all()
    out = model(ids, mask)
    assert out.shape == (4, CONFIG.dim)
    assert torch.allclose(out.norm(dim=1), torch.ones(4), atol=1e-5)


def test_padding_does_not_change_an_embedding() -> None:
    torch.manual_seed(0)
    model = TextEncoder(CONFIG).eval()
    alone = model(*model.tokenize(["fast"]))
    batched = model(*model.tokenize(["fast", "a long description in 6/8 time with many words"]))
    assert torch.allclose(alone[0], batched[0], atol=1e-5)
    assert not torch.allclose(batched[0], batched[1], atol=1e-3)
