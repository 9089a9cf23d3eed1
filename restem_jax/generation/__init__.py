"""Sampling from a self-describing checkpoint: JSONL in, JSONL out (`python -m restem_jax.generate`)."""
