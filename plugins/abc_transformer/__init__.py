"""The abc-transformer family: a bar-patch + character hierarchical transformer over ABC text.

The design of TunesFormer/EMusicGen and NotaGen: ``patches`` cuts ABC text into bar-aligned
fixed-width patches, ``model`` holds the two-level decoder and its presets, ``sampling``
generates batches of pieces with KV caches and streams them patch by patch.

Importing this package stays cheap (no torch); import the submodules that need torch
where they are used.
"""
