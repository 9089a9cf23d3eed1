"""Tests of the multi-host process roles (restem_jax.distributed)."""
