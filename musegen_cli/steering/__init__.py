"""Steering: concept directions in a model's activations (RFM probes), and injecting them."""
