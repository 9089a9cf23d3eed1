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


CACHE_DTYPES = ("", "bfloat16", "float16", "float32")  # '' = the model's compute dtype


def dtype_of(cfg: ModelConfig, name: str = ""):
  """The cache dtype `name` names (`sampler.kv_cache_dtype`); '' = `cfg.compute_dtype`."""
  if name not in CACHE_DTYPES:
    raise ValueError(f"sampler.kv_cache_dtype={name!r}; expected one of {CACHE_DTYPES} "
                     "('' = the model's compute dtype).")
  return jnp.dtype(name) if name else jnp.dtype(cfg.compute_dtype)


def init_cache(cfg: ModelConfig, batch: int, length: int, dtype: str = ""):
  """Zeros in `dtype_of(cfg, dtype)`; the attention layers write keys and values in the
  cache's dtype and read them back into the compute dtype's arithmetic."""
  return layer_stack.of(cfg).init_cache(cfg, batch, length, dtype_of(cfg, dtype))


def length(cache) -> int:
  """S, the cache's key length."""
  return jax.tree.leaves(cache)[0].shape[LENGTH_AXIS]


def repeat_rows(cache, n: int):
  """Each row repeated n times (row-major: row b becomes rows b*n .. b*n + n - 1)."""
  return jax.tree.map(lambda x: jnp.repeat(x, n, axis=ROWS_AXIS), cache)


def first_row(cache):
  return jax.tree.map(lambda x: x[..., :1, :, :, :], cache)


def cache_bytes(cfg: ModelConfig, batch: int, length: int,  # pylint: disable=redefined-outer-name
                dtype: str = "") -> int:
  itemsize = dtype_of(cfg, dtype).itemsize
  return 2 * cfg.num_layers * batch * length * cfg.num_kv_heads * cfg.head_dim * itemsize
