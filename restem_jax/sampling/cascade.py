"""Cascade decode for the E-step: a shared prefix, per-problem suffixes, per-sample tokens.

E-step prompts share a long few-shot prefix and each is sampled N times. The plain
engine (`decode.generate`) prefills every prompt in full and repeats its KV cache N
times. Here the cache has three levels that attention combines exactly:

  (a) prefix  [1, K, P0, E]: the longest common token prefix of the call's encoded
      prompts, rounded down to a multiple of 64 tokens (`shared_prefix_len`),
      prefilled once per `Sampler.sample` call (an E-step chunk) and reused by every
      batch. Found on token ids, so it is exact for any tokenizer: each prompt is
      encoded on its own and the prefix tokens are literally shared.
  (b) suffix  [B, K, Ps, E]: each problem's remaining tokens, prefilled once per
      problem against (a), left-padded to a bucket Ps.
  (c) samples [B*N, K, M, E]: each sample's own generated tokens.

A decode query of row (b, n) scores the keys of (a), of (b)'s row b and of its own
row of (c), combined by the model's cascade attention backend
(`restem_jax.model.cascade_attention`); memory and bandwidth for (a) and (b) do not grow
with N. This module lays out the levels and orchestrates prefill; prefill and the
one-token step are the model's own forward pass (`interface.extend`,
`interface.cascade_step`; tests/engine/test_cascade.py holds the two engines equal).
Like the model, it attends over the full context (a checkpoint's sliding window is honoured
by `ModelConfig.check_context` refusing longer contexts). `generate` gives every sample
its own row for the whole call; `refill.py` runs fewer rows that take the call's samples
from one queue.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from restem_jax.model import interface, kv_cache, masks
from restem_jax.model.config import ModelConfig
from restem_jax.sampling import decode
from restem_jax.sampling.decode_input import DecodeBatch, DecodeShape

PREFIX_QUANTUM = 64  # shared prefix lengths are multiples of this (bounds recompiles)


def shared_prefix_len(prompts: Sequence[np.ndarray], quantum: int = PREFIX_QUANTUM) -> int:
  """Longest common token prefix of `prompts`, rounded down to a multiple of `quantum`
  (one compiled program per prefix length, so few distinct lengths), leaving every
  prompt at least one suffix token."""
  if not prompts:
    return 0
  limit = min(len(p) for p in prompts) - 1
  first = np.asarray(prompts[0])[:max(limit, 0)]
  n = len(first)
  for p in prompts[1:]:
    diff = np.nonzero(np.asarray(p)[:n] != first[:n])[0]
    n = int(diff[0]) if len(diff) else n
  return n // quantum * quantum


def prefill_prefix(params, prefix_RxP, *, cfg: ModelConfig, cache_dtype: str = ""):
  """KV cache of the shared prefix: per layer {'k','v': [R, K, P0, E]} (in the model's
  layer layout, `kv_cache`).

  R identical rows (the caller passes as many as the data-parallel axis needs to divide
  the batch, then keeps one)."""
  r, p0 = prefix_RxP.shape
  slots_RxP = jnp.broadcast_to(jnp.arange(p0)[None], (r, p0))
  mask = masks.cache_mask(jnp.ones((r, p0), bool), slots_RxP)
  _, cache = interface.extend(cfg, params, prefix_RxP, slots_RxP, mask,
                              kv_cache.init_cache(cfg, r, p0, cache_dtype), 0, last_only=True)
  return cache


def prefill_suffix(cfg, params, prefix_cache, suffix_BxS, suffix_lens_B):
  """Prefill each problem's suffix against the prefix; returns logits, (b) cache, validity."""
  b, s = suffix_BxS.shape
  p0 = kv_cache.length(prefix_cache)
  slots_S = jnp.arange(s)
  pad_B = s - suffix_lens_B
  valid_BxS = slots_S[None] >= pad_B[:, None]
  positions_BxS = p0 + jnp.maximum(slots_S[None] - pad_B[:, None], 0)
  key_valid = jnp.concatenate([jnp.ones((b, p0), bool), valid_BxS], axis=1)
  mask = masks.cache_mask(key_valid, jnp.broadcast_to(p0 + slots_S, (b, s)))

  def widen(x_1xKxPxE):  # leading layer axis or not (kv_cache)
    *lead, _, k, _, e = x_1xKxPxE.shape
    return jnp.concatenate([jnp.broadcast_to(x_1xKxPxE, (*lead, b, k, p0, e)),
                            jnp.zeros((*lead, b, k, s, e), x_1xKxPxE.dtype)],
                           axis=kv_cache.LENGTH_AXIS)

  cache = jax.tree.map(widen, prefix_cache)
  logits, cache = interface.extend(cfg, params, suffix_BxS, positions_BxS, mask, cache, p0,
                                   last_only=True)
  suffix_cache = jax.tree.map(lambda x: x[..., p0:, :], cache)
  return logits[:, 0], suffix_cache, valid_BxS


def prefill_and_step(cfg, params, prefix_cache, suffix_BxS, suffix_lens_B, rows_per_problem):
  """Prefills the suffixes; returns (logits after each prompt [B, V], the decode step).

  `step(own, prev_R, t) -> (logits_RxV, own)` feeds generated token t - 1 of each of
  the B * rows_per_problem problem-major rows; `t` is a scalar or int32 [R]."""
  last_BxV, suffix_cache, suffix_valid_BxS = prefill_suffix(cfg, params, prefix_cache,
                                                            suffix_BxS, suffix_lens_B)
  lens_R = jnp.repeat(kv_cache.length(prefix_cache) + suffix_lens_B, rows_per_problem, axis=0)
  return last_BxV, decode_step(cfg, params, prefix_cache, suffix_cache, suffix_valid_BxS, lens_R)


def decode_step(cfg, params, prefix_cache, suffix_cache, suffix_valid_BxS, lens_R):
  """The one-token step over the three cache levels (`prefill_and_step`'s `step`)."""

  def step(own, prev_R, t):
    m = kv_cache.length(own)
    own_valid_RxM = jnp.arange(m) < jnp.broadcast_to(t, lens_R.shape)[:, None]
    levels = {"prefix": prefix_cache, "suffix": suffix_cache, "own": own}
    return interface.cascade_step(cfg, params, prev_R, (lens_R + t - 1)[:, None], levels,
                                  masks.CascadeMask(own_valid_RxM, suffix_valid_BxS), t - 1)

  return step


def generate(params, prefix_cache, batch: DecodeBatch, *, cfg: ModelConfig, shape: DecodeShape):
  """`decode.generate` for prompts = prefix ++ batch.prompts_BxP[b] (same outputs and keys)."""
  n, m = shape.num_samples, shape.max_new_tokens
  last_BxV, step = prefill_and_step(cfg, params, prefix_cache, batch.prompts_BxP,
                                    batch.prompt_lens_B, n)
  rep = functools.partial(jnp.repeat, repeats=n, axis=0)
  own = kv_cache.init_cache(cfg, batch.prompts_BxP.shape[0] * n, m, shape.cache_dtype)
  return decode.run_loop(step, own, rep(last_BxV), decode.row_keys(batch, n),
                         rep(batch.active_B), batch, shape)


def jit_prefill_prefix(cfg: ModelConfig, cache_dtype: str = ""):
  return jax.jit(functools.partial(prefill_prefix, cfg=cfg, cache_dtype=cache_dtype))


def cache_bytes(cfg: ModelConfig, prefix_len: int, problems: int, suffix_len: int,
                num_samples: int, max_new_tokens: int, dtype: str = "") -> int:
  """KV bytes of the three levels for one batch (cache dtype `dtype`, kv_cache.py)."""
  return (kv_cache.cache_bytes(cfg, 1, prefix_len, dtype)
          + kv_cache.cache_bytes(cfg, problems, suffix_len, dtype)
          + kv_cache.cache_bytes(cfg, problems * num_samples, max_new_tokens, dtype))
