"""The ``debug`` preset: a tiny random MusicGen written as a model directory, for fast tests.

Built offline from transformers' config classes (a 1-layer T5 encoder, a 2-layer decoder
over 2 codebooks, a small EnCodec at 8 kHz and 100 frames per second) with a word-level
tokenizer made on the spot, so nothing is fetched; it writes noise, quickly.

    python -m musegen_plugins.musicgen.debug FOLDER [--seed N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .weights import write_manifest

WORDS = ("calm", "happy", "sad", "fast", "slow", "piano", "drums", "guitar", "lofi", "jazz", "rock", "techno")


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{word: i + 3 for i, word in enumerate(WORDS)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])  # as T5's
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def write_debug_model(folder: Path, seed: int = 0) -> Path:
    """Save a tiny random MusicGen (about 90k parameters) and its ``musegen.json`` in ``folder``."""
    import torch
    from transformers import (EncodecConfig, GenerationConfig, MusicgenConfig, MusicgenDecoderConfig,
                              MusicgenForConditionalGeneration, T5Config)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    text = T5Config(vocab_size=len(WORDS) + 3, d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8)
    audio = EncodecConfig(codebook_size=1024, codebook_dim=16, hidden_size=16, num_filters=4, num_residual_layers=1,
                          num_lstm_layers=1, upsampling_ratios=[8, 10], sampling_rate=8000, target_bandwidths=[2.0])
    decoder = MusicgenDecoderConfig(vocab_size=1024, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                    ffn_dim=32, num_codebooks=2, max_position_embeddings=1024, pad_token_id=1024,
                                    bos_token_id=1024, decoder_start_token_id=1024)
    config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config).eval()
    with torch.no_grad():  # EnCodec's codebooks start at zero: random ones make codes audible
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    model.generation_config = GenerationConfig(pad_token_id=1024, decoder_start_token_id=1024, bos_token_id=1024,
                                               do_sample=True, guidance_scale=3.0, max_length=1024)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return write_manifest(folder, ".", {"preset": "debug", "seed": seed})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m musegen_plugins.musicgen.debug",
                                     description="Write a tiny random MusicGen model folder (for tests; it makes noise).")
    parser.add_argument("folder", type=Path, help="model folder to write (use it with -m FOLDER)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = parser.parse_args(argv)
    print(write_debug_model(args.folder, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
