"""Preference alignment of generators (`musegen dpo`): rewards, preference sets, DPO-Positive
training and the iteration loop that ties them together."""
