"""Tests of the problem tasks (restem_jax.tasks)."""
