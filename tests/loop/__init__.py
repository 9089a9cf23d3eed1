"""Tests of the ReST-EM loop (restem_jax.loop)."""
