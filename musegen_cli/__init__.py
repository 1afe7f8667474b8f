"""musegen: one command to train, generate, steer, align and evolve music models."""

__version__ = "0.1.0"
