"""Tests of the summary, report and outputs (restem_jax.loop.reporting)."""
