"""Preallocated KV cache: per layer a {'k', 'v'} pair of BxKxSxE arrays.

The layer layout (`restem_jax.model.layer_stack`) decides the container: a list of L
dicts (unrolled) or one dict of LxBxKxSxE arrays (scanned). Every leaf ends in
[B, K, S, E], so the helpers below address rows and length through negative axes and
work on both.

Heads before length, so that the per-step attention matmuls read the cache with
(batch, kv_head) as batch dimensions in place: a BxSxKxE cache made XLA:CPU copy
(transpose) the whole cache of every layer at every decode step."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from restem_jax.model import layer_stack
from restem_jax.model.config import ModelConfig

ROWS_AXIS = -4    # B of [..., B, K, S, E]
LENGTH_AXIS = -2  # S


def init_cache(cfg: ModelConfig, batch: int, length: int):
  return layer_stack.of(cfg).init_cache(cfg, batch, length)


def length(cache) -> int:
  """S, the cache's key length."""
  return jax.tree.leaves(cache)[0].shape[LENGTH_AXIS]


def repeat_rows(cache, n: int):
  """Each row repeated n times (row-major: row b becomes rows b*n .. b*n + n - 1)."""
  return jax.tree.map(lambda x: jnp.repeat(x, n, axis=ROWS_AXIS), cache)


def first_row(cache):
  return jax.tree.map(lambda x: x[..., :1, :, :, :], cache)


def cache_bytes(cfg: ModelConfig, batch: int, length: int) -> int:  # pylint: disable=redefined-outer-name
  itemsize = jnp.dtype(cfg.compute_dtype).itemsize
  return 2 * cfg.num_layers * batch * length * cfg.num_kv_heads * cfg.head_dim * itemsize
