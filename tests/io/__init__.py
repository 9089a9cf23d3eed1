"""Tests of the path layer (restem_jax.io)."""
