"""Compound-word tokens: round trips on real corpus MIDI, CPWord's grammar, attributes."""

from __future__ import annotations

import pytest
from symusic import Score

from musegen_cli.errors import UserError
from musegen_plugins.muser import tokens


def test_corpus_midi_round_trips_through_compound_words(corpus_midi):
    for path in corpus_midi:
        rows = tokens.encode_midi(path.read_bytes())
        assert len(rows) > 20 and all(len(row) == len(tokens.FIELDS) for row in rows)
        again = tokens.decode_midi(rows)
        assert tokens.encode_midi(again) == rows
        original, decoded = Score.from_midi(path.read_bytes()), Score.from_midi(again)
        played = sorted(n.pitch for track in original.tracks for n in track.notes)
        assert sorted(n.pitch for n in decoded.tracks[0].notes) == played


def test_every_encoded_event_obeys_the_grammar_generation_samples_under(corpus_midi):
    masks = {kind: tokens.grammar_masks(kind) for kind in (tokens.METRIC, tokens.NOTE)}
    for path in corpus_midi:
        for row in tokens.encode_midi(path.read_bytes()):
            assert row[0] in masks
            assert all(bool(masks[row[0]][field][value]) for field, value in enumerate(row)), row


def test_decoding_repairs_metric_rows_cpword_cannot_read(corpus_midi):
    rows = tokens.encode_midi(corpus_midi[0].read_bytes())
    broken = [[*row[:6], tokens.IGNORE] if row[0] == tokens.METRIC else row for row in rows]
    assert tokens.encode_midi(tokens.decode_midi([[tokens.BOS] * 7, *broken, [tokens.EOS] * 7]))


def test_attributes_follow_transposition_and_density(corpus_midi):
    rows = tokens.encode_midi(corpus_midi[0].read_bytes())
    pitch = tokens.FIELDS.index("pitch")
    higher = [[*r[:pitch], r[pitch] + 5, *r[pitch + 1:]] if r[0] == tokens.NOTE else r for r in rows]
    base, up = tokens.attributes(rows), tokens.attributes(higher)
    assert up.pitch == pytest.approx(base.pitch + 5)
    assert up.rhythm == base.rhythm and up.duration == base.duration and base.velocity > 0
    fewer = [r for i, r in enumerate(rows) if r[0] != tokens.NOTE or i % 2]
    assert tokens.attributes(fewer).rhythm < base.rhythm


def test_unreadable_midi_is_a_user_error():
    with pytest.raises(UserError):
        tokens.encode_midi(b"MThd not really")
