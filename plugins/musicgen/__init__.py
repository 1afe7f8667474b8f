"""The musicgen family: text-to-audio generation through transformers' MusicGen, with the
layers (steering) and conditioning-vector (evolution) capabilities. See ``family``."""
