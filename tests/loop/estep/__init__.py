"""Tests of the E-step (restem_jax.loop.estep)."""
