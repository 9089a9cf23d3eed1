"""Tests of the evaluation path (restem_jax.loop.evaluation)."""
