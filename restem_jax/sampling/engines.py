"""Decode engines the sampler can drive (`SamplerConfig.engine`).

An engine splits each encoded prompt into a prefix shared by the whole
`Sampler.sample` call and a per-problem suffix, prefills the prefix once per call,
and runs one padded batch of suffixes:

  'cascade' (default): `cascade.py`, three cache levels (shared prefix, per-problem
            suffix, per-sample tokens); prompt memory does not grow with N.
  'repeat':  `decode.py`, no shared prefix; each prompt prefilled in full and its
            cache repeated N times (the earlier engine, kept as the reference).

Both give the same samples for the same keys (tests/engine/test_cascade.py). The
cascade engine can also run S < N rows per problem, B x S rows per call of B problems,
that take the call's samples from one queue (`slots`, `refill.py`: continuous batching;
tests/engine/test_refill.py).

Every engine keeps its KV caches in `cache_dtype` (`sampler.kv_cache_dtype`, '' = the
model's compute dtype), carried by its `DecodeShape`.

Every engine's device program is `engine.program(shape)(params, prefix_state, batch)`
with a `decode_input.DecodeBatch`; the Sampler runs it and the AOT planner lowers it
(`abstract_prefix` gives the prefix state's ShapeDtypeStructs).
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from restem_jax.model import kv_cache
from restem_jax.model.config import ModelConfig
from restem_jax.sampling import cascade, decode, refill
from restem_jax.sampling.decode_input import DecodeBatch, DecodeShape
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning


def _repeat_program(params, prefix_state, batch: DecodeBatch, *, cfg: ModelConfig,
                    shape: DecodeShape):
  del prefix_state  # the repeat engine has no shared prefix
  return decode.generate(params, batch, cfg=cfg, shape=shape)


class _Engine:
  """One compiled program per `DecodeShape` (`program`)."""

  def __init__(self, cfg: ModelConfig, max_new_tokens: int, cache_dtype: str = ""):
    kv_cache.dtype_of(cfg, cache_dtype)  # a bad name fails here, before any compile
    self._cfg, self._m, self._fns = cfg, max_new_tokens, {}
    self._cache_dtype = cache_dtype

  def shape(self, num_samples: int, top_k: int) -> DecodeShape:
    return DecodeShape(num_samples=num_samples, max_new_tokens=self._m, top_k=top_k,
                       cache_dtype=self._cache_dtype)

  def program(self, shape: DecodeShape):
    """The jitted `fn(params, prefix_state, batch) -> decode.generate's dict`."""
    if shape not in self._fns:
      self._fns[shape] = jax.jit(self._build(shape))
    return self._fns[shape]

  def run(self, params, prefix_state, batch: DecodeBatch, shape: DecodeShape):
    return self.program(shape)(params, prefix_state, batch)

  def _build(self, shape: DecodeShape):
    raise NotImplementedError


class RepeatEngine(_Engine):
  """Full-prompt prefill, prompt cache repeated per sample."""

  def __init__(self, cfg: ModelConfig, max_new_tokens: int, slots: int = 0,
               cache_dtype: str = ""):
    if slots:
      raise ValueError(f"sampler.slots_per_problem={slots} needs sampler.engine='cascade' "
                       "(the repeat engine gives every sample its own row).")
    super().__init__(cfg, max_new_tokens, cache_dtype)

  def prefix_len(self, prompts: Sequence[np.ndarray]) -> int:
    del prompts
    return 0

  def prefill(self, params, prefix: np.ndarray, mesh, rules):
    del params, prefix, mesh, rules
    return None

  def abstract_prefix(self, prefix_len: int, mesh):
    del prefix_len, mesh
    return None

  def cache_bytes(self, shape: DecodeShape, rows: int, bucket: int, prefix_len: int) -> int:
    """KV bytes of one call: each prompt's cache (prefix included), repeated N times."""
    return kv_cache.cache_bytes(self._cfg, rows * shape.num_samples,
                                prefix_len + bucket + shape.max_new_tokens, shape.cache_dtype)

  def _build(self, shape: DecodeShape):
    return functools.partial(_repeat_program, cfg=self._cfg, shape=shape)


class CascadeEngine(_Engine):
  """Shared prefix prefilled once per call; per-problem suffix; per-sample tokens."""

  def __init__(self, cfg: ModelConfig, max_new_tokens: int, slots: int = 0,
               cache_dtype: str = ""):
    if slots < 0:
      raise ValueError(f"sampler.slots_per_problem={slots} must be >= 0 (0: one row per "
                       "sample).")
    super().__init__(cfg, max_new_tokens, cache_dtype)
    self._slots = slots
    self._prefill = cascade.jit_prefill_prefix(cfg, cache_dtype)

  def prefix_len(self, prompts: Sequence[np.ndarray]) -> int:
    return cascade.shared_prefix_len(prompts)

  def prefill(self, params, prefix: np.ndarray, mesh, rules):
    """The prefix cache, replicated (computed on data-parallel-size identical rows, so
    that the batch axis divides it, then one row kept)."""
    if len(prefix) == 0:
      cache = kv_cache.init_cache(self._cfg, 1, 0, self._cache_dtype)
    else:
      rows = mesh_lib.data_parallel_size(mesh)
      tokens = jnp.broadcast_to(jnp.asarray(prefix, jnp.int32)[None], (rows, len(prefix)))
      with partitioning.activation_sharding(mesh, rules):
        cache = kv_cache.first_row(self._prefill(params, tokens))
    return jax.device_put(cache, partitioning.replicated(mesh))

  def abstract_prefix(self, prefix_len: int, mesh):
    rep = partitioning.replicated(mesh)
    like = jax.eval_shape(lambda: kv_cache.init_cache(self._cfg, 1, prefix_len,
                                                      self._cache_dtype))
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=rep), like)

  def cache_bytes(self, shape: DecodeShape, rows: int, bucket: int, prefix_len: int) -> int:
    """KV bytes of one call of `rows` problems with suffixes padded to `bucket`."""
    slots = self._slots_for(shape)
    if slots < shape.num_samples:
      return refill.cache_bytes(self._cfg, prefix_len, rows, bucket, slots, shape.max_new_tokens,
                                shape.cache_dtype)
    return cascade.cache_bytes(self._cfg, prefix_len, rows, bucket, shape.num_samples,
                               shape.max_new_tokens, shape.cache_dtype)

  def _slots_for(self, shape: DecodeShape) -> int:
    return min(self._slots or shape.num_samples, shape.num_samples)

  def _build(self, shape: DecodeShape):
    slots = self._slots_for(shape)
    if slots < shape.num_samples:  # continuous batching: slots take the call's samples
      return functools.partial(refill.generate, cfg=self._cfg, shape=shape, slots=slots)
    return functools.partial(cascade.generate, cfg=self._cfg, shape=shape)  # a row per sample


ENGINES = {"cascade": CascadeEngine, "repeat": RepeatEngine}


def make(name: str, cfg: ModelConfig, max_new_tokens: int, slots: int = 0,
         cache_dtype: str = ""):
  if name not in ENGINES:
    raise ValueError(f"sampler.engine={name!r}; expected one of {sorted(ENGINES)}.")
  return ENGINES[name](cfg, max_new_tokens, slots, cache_dtype)
