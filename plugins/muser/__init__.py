"""The muser family: an element-regularized VQ-VAE over compound-word MIDI tokens, with an
emotion-conditioned prior over its codes (MusER, Ji & Yang, AAAI 2024).

``tokens`` turns MIDI into compound words (MidiTok's CPWord), ``data`` gathers labelled
pieces, ``model`` holds the VQ-VAE, its element regularization and the prior, ``training``
fits both stages, ``inference`` generates and transfers elements between pieces.

Importing this package stays cheap (no torch, no miditok); import the submodules that need
them where they are used.
"""
