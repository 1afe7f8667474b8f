"""Scoring music: metrics over generated pieces, e.g. similarity to reference pieces (copy detection)."""
