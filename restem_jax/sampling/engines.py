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
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np

from restem_jax.model import kv_cache
from restem_jax.model.config import ModelConfig
from restem_jax.sampling import cascade, decode, refill


class RepeatEngine:
  """Full-prompt prefill, prompt cache repeated per sample."""

  def __init__(self, cfg: ModelConfig, max_new_tokens: int, slots: int = 0):
    if slots:
      raise ValueError(f"sampler.slots_per_problem={slots} needs sampler.engine='cascade' "
                       "(the repeat engine gives every sample its own row).")
    self._cfg, self._m, self._fns = cfg, max_new_tokens, {}

  def prefix_len(self, prompts: Sequence[np.ndarray]) -> int:
    del prompts
    return 0

  def prefill(self, params, prefix: np.ndarray, rows: int):
    del params, prefix, rows
    return None

  def run(self, params, prefix_state, suffix_BxS, lens_B, *args, num_samples: int, top_k: int):
    del prefix_state
    key = (num_samples, top_k)
    if key not in self._fns:
      self._fns[key] = decode.jit_generate(self._cfg, num_samples=num_samples,
                                           max_new_tokens=self._m, top_k=top_k)
    return self._fns[key](params, suffix_BxS, lens_B, *args)


class CascadeEngine:
  """Shared prefix prefilled once per call; per-problem suffix; per-sample tokens."""

  def __init__(self, cfg: ModelConfig, max_new_tokens: int, slots: int = 0):
    if slots < 0:
      raise ValueError(f"sampler.slots_per_problem={slots} must be >= 0 (0: one row per "
                       "sample).")
    self._cfg, self._m, self._slots, self._fns = cfg, max_new_tokens, slots, {}
    self._prefill = cascade.jit_prefill_prefix(cfg)

  def prefix_len(self, prompts: Sequence[np.ndarray]) -> int:
    return cascade.shared_prefix_len(prompts)

  def prefill(self, params, prefix: np.ndarray, rows: int):
    """The prefix cache (computed on `rows` identical rows, so that a data-parallel
    batch axis divides it, then one row kept)."""
    if len(prefix) == 0:
      return kv_cache.init_cache(self._cfg, 1, 0)
    tokens = jnp.broadcast_to(jnp.asarray(prefix, jnp.int32)[None], (rows, len(prefix)))
    return kv_cache.first_row(self._prefill(params, tokens))

  def run(self, params, prefix_state, suffix_BxS, lens_B, *args, num_samples: int, top_k: int):
    slots = min(self._slots or num_samples, num_samples)
    key = (num_samples, top_k)  # slots follow from num_samples
    if key not in self._fns:
      if slots < num_samples:  # continuous batching: slots take the call's samples
        fn = refill.jit_generate(self._cfg, num_samples=num_samples, slots=slots,
                                 max_new_tokens=self._m, top_k=top_k)
      else:  # one row per sample
        fn = cascade.jit_generate(self._cfg, num_samples=num_samples, max_new_tokens=self._m,
                                  top_k=top_k)
      self._fns[key] = fn
    return self._fns[key](params, prefix_state, suffix_BxS, lens_B, *args)


ENGINES = {"cascade": CascadeEngine, "repeat": RepeatEngine}


def make(name: str, cfg: ModelConfig, max_new_tokens: int, slots: int = 0):
  if name not in ENGINES:
    raise ValueError(f"sampler.engine={name!r}; expected one of {sorted(ENGINES)}.")
  return ENGINES[name](cfg, max_new_tokens, slots)
