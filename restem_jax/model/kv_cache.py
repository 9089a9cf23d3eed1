"""Preallocated KV cache: one {'k', 'v'} pair of BxKxSxE arrays per layer.

Heads before length, so that the per-step attention matmuls read the cache with
(batch, kv_head) as batch dimensions in place: a BxSxKxE cache made XLA:CPU copy
(transpose) the whole cache of every layer at every decode step."""

from __future__ import annotations

import jax.numpy as jnp

from restem_jax.model.config import ModelConfig


def init_cache(cfg: ModelConfig, batch: int, length: int):
  shape = (batch, cfg.num_kv_heads, length, cfg.head_dim)
  return [{"k": jnp.zeros(shape, cfg.compute_dtype), "v": jnp.zeros(shape, cfg.compute_dtype)}
          for _ in range(cfg.num_layers)]


def cache_bytes(cfg: ModelConfig, batch: int, length: int) -> int:
  itemsize = jnp.dtype(cfg.compute_dtype).itemsize
  return 2 * cfg.num_layers * batch * length * cfg.num_kv_heads * cfg.head_dim * itemsize
