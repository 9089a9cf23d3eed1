"""Benchmarks of restem_jax against PyTorch / Hugging Face peers (see BENCHMARKS.md)."""
