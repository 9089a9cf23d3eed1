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
row of (c); the three score blocks are joined and normalised by one softmax (the
split-softmax / log-sum-exp merge of "cascade" or "bifurcated" attention), then each
probability block multiplies its own values. Memory and bandwidth for (a) and (b) do
not grow with N. Prefill reuses the model module unchanged; the one-token decode step
is a functional pass over the same params that reuses the model's RMSNorm, SwiGLU and
rope modules (only the q/k/v/o projections and the LM head are re-expressed, to feed
the cascade; tests/engine/test_cascade.py holds the two engines equal). Like the
model, it attends over the full context (a checkpoint's sliding window is honoured
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

from restem_jax.model import kv_cache, layer_stack, layers, masks, rope
from restem_jax.model.config import ModelConfig
from restem_jax.model.interface import make_module
from restem_jax.sampling import decode
from restem_jax.sampling.decode_input import DecodeBatch, DecodeShape

_NEG_INF = -1e30


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


def prefill_prefix(params, prefix_RxP, *, cfg: ModelConfig):
  """KV cache of the shared prefix: per layer {'k','v': [R, K, P0, E]} (in the model's
  layer layout, `kv_cache`).

  R identical rows (the caller passes as many as the data-parallel axis needs to divide
  the batch, then keeps one)."""
  r, p0 = prefix_RxP.shape
  slots_RxP = jnp.broadcast_to(jnp.arange(p0)[None], (r, p0))
  mask = masks.cache_mask(jnp.ones((r, p0), bool), slots_RxP)
  _, cache = make_module(cfg).apply({"params": params}, prefix_RxP, slots_RxP, mask,
                                    kv_cache.init_cache(cfg, r, p0), 0, last_only=True)
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
  logits, cache = make_module(cfg).apply({"params": params}, suffix_BxS, positions_BxS, mask,
                                         cache, p0, last_only=True)
  suffix_cache = jax.tree.map(lambda x: x[..., p0:, :], cache)
  return logits[:, 0], suffix_cache, valid_BxS


def _project(cfg, p, x_Rx1xD, name, heads):
  y = jnp.einsum("rtd,dne->rtne", x_Rx1xD, p["w" + name].astype(cfg.compute_dtype))
  if cfg.qkv_bias:
    y = y + p["b" + name].astype(cfg.compute_dtype)
  return y


def _cascade_attention(q_RxHxE, prefix, suffix, own, suffix_valid_BxS, own_valid_RxM):
  """Softmax over [prefix keys | the row's suffix keys | the row's own keys].

  Rows are problem-major (row b * n + i belongs to problem b). `suffix` is None where
  each row holds its problem's suffix at the head of its own cache (`refill.py`);
  `own_valid_RxM` marks the own keys a row may see."""
  r, h, e = q_RxHxE.shape
  kh, m = own["k"].shape[1], own["k"].shape[2]
  b = suffix["k"].shape[0] if suffix is not None else r
  n = r // b
  q = q_RxHxE.reshape(b, n, kh, h // kh, e)
  own_k, own_v = (own[x].reshape(b, n, kh, m, e) for x in ("k", "v"))
  f32 = jnp.float32
  p0 = prefix["k"].shape[2]
  logits = [jnp.einsum("bnkge,kpe->bnkgp", q, prefix["k"][0], preferred_element_type=f32)]
  valid = [jnp.ones((b, n, p0), bool)]
  values = [(p0, lambda p: jnp.einsum("bnkgp,kpe->bnkge", p, prefix["v"][0]))]
  if suffix is not None:
    ps = suffix["k"].shape[2]
    logits.append(jnp.einsum("bnkge,bkse->bnkgs", q, suffix["k"], preferred_element_type=f32))
    valid.append(jnp.broadcast_to(suffix_valid_BxS[:, None], (b, n, ps)))
    values.append((ps, lambda p: jnp.einsum("bnkgs,bkse->bnkge", p, suffix["v"])))
  logits.append(jnp.einsum("bnkge,bnkme->bnkgm", q, own_k, preferred_element_type=f32))
  valid.append(own_valid_RxM.reshape(b, n, m))
  values.append((m, lambda p: jnp.einsum("bnkgm,bnkme->bnkge", p, own_v)))
  valid = jnp.concatenate(valid, axis=-1)[:, :, None, None, :]
  logits = jnp.concatenate(logits, axis=-1) * (e ** -0.5)
  probs = jnp.where(valid, jax.nn.softmax(jnp.where(valid, logits, _NEG_INF), axis=-1), 0.0)
  probs = probs.astype(own_v.dtype)
  out, start = 0.0, 0
  for width, attend in values:  # each probability block times its own values
    out, start = out + attend(probs[..., start:start + width]), start + width
  return out.reshape(r, h, e)


def _write_own(own_RxKxMxE, x_Rx1xKxE, slot):
  """Stores the new token's key or value at `slot` (scalar, or int32 [R]) of each row."""
  x = x_Rx1xKxE.transpose(0, 2, 1, 3).astype(own_RxKxMxE.dtype)
  if jnp.ndim(slot) == 0:  # every row at the same step: one slice
    return jax.lax.dynamic_update_slice(own_RxKxMxE, x, (0, 0, slot, 0))
  rows = jnp.arange(own_RxKxMxE.shape[0])
  return own_RxKxMxE.at[rows, :, slot].set(x[:, :, 0], mode="promise_in_bounds")


def _block_step(cfg, p, x_Rx1xD, pos_Rx1, own, prefix, suffix, suffix_valid_BxS, slot,
                own_valid_RxM):
  """One decoder block for one new token per row, written at `slot` of its own cache."""
  norm = functools.partial(layers.RMSNorm(cfg).apply)
  a = p["attn"]
  h_in = norm({"params": p["attn_norm"]}, x_Rx1xD)
  q = _project(cfg, a, h_in, "q", cfg.num_heads)
  k = _project(cfg, a, h_in, "k", cfg.num_kv_heads)
  v = _project(cfg, a, h_in, "v", cfg.num_kv_heads)
  if cfg.qk_norm:
    q = layers.RMSNorm(cfg, "head_dim").apply({"params": a["q_norm"]}, q)
    k = layers.RMSNorm(cfg, "head_dim").apply({"params": a["k_norm"]}, k)
  rotation = rope.for_config(cfg)
  q, k = rope.apply(q, pos_Rx1, rotation), rope.apply(k, pos_Rx1, rotation)
  own = {"k": _write_own(own["k"], k, slot), "v": _write_own(own["v"], v, slot)}
  out = _cascade_attention(q[:, 0], prefix, suffix, own, suffix_valid_BxS, own_valid_RxM)
  dt = cfg.compute_dtype
  x = x_Rx1xD + jnp.einsum("rhe,hed->rd", out.astype(dt), a["wo"].astype(dt))[:, None]
  x = x + layers.SwiGLU(cfg).apply({"params": p["mlp"]}, norm({"params": p["mlp_norm"]}, x))
  return x, own


def _logits(cfg, params, x_Rx1xD):
  x = layers.RMSNorm(cfg).apply({"params": params["final_norm"]}, x_Rx1xD)[:, 0]
  dt = cfg.compute_dtype
  if cfg.tie_embeddings:
    logits = jnp.einsum("rd,vd->rv", x, params["embedding"].astype(dt))
  else:
    logits = jnp.einsum("rd,dv->rv", x, params["lm_head"].astype(dt))
  return logits.astype(jnp.float32)


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
    return layers_step(cfg, params, own, prefix_cache, prev_R, (lens_R + t - 1)[:, None],
                       t - 1, own_valid_RxM, suffix_cache, suffix_valid_BxS)

  return step


def layers_step(cfg, params, own, prefix_cache, prev_R, pos_Rx1, slot, own_valid_RxM,
                suffix_cache=None, suffix_valid_BxS=None):
  """Embeds each row's previous token, runs every block, returns (logits_RxV, own)."""
  x = jnp.take(params["embedding"], prev_R[:, None], axis=0).astype(cfg.compute_dtype)

  def block(p, x, layer_caches):
    own, prefix, *suffix = layer_caches
    return _block_step(cfg, p, x, pos_Rx1, own, prefix, suffix[0] if suffix else None,
                       suffix_valid_BxS, slot, own_valid_RxM)

  caches = (own, prefix_cache) + ((suffix_cache,) if suffix_cache is not None else ())
  x, own = layer_stack.of(cfg).fold(cfg, params, block, x, caches)
  return _logits(cfg, params, x), own


def generate(params, prefix_cache, batch: DecodeBatch, *, cfg: ModelConfig, shape: DecodeShape):
  """`decode.generate` for prompts = prefix ++ batch.prompts_BxP[b] (same outputs and keys)."""
  n, m = shape.num_samples, shape.max_new_tokens
  last_BxV, step = prefill_and_step(cfg, params, prefix_cache, batch.prompts_BxP,
                                    batch.prompt_lens_B, n)
  rep = functools.partial(jnp.repeat, repeats=n, axis=0)
  own = kv_cache.init_cache(cfg, batch.prompts_BxP.shape[0] * n, m)
  return decode.run_loop(step, own, rep(last_BxV), decode.row_keys(batch, n),
                         rep(batch.active_B), batch, shape)


def jit_prefill_prefix(cfg: ModelConfig):
  return jax.jit(functools.partial(prefill_prefix, cfg=cfg))


def cache_bytes(cfg: ModelConfig, prefix_len: int, problems: int, suffix_len: int,
                num_samples: int, max_new_tokens: int) -> int:
  """KV bytes of the three levels for one batch."""
  return (kv_cache.cache_bytes(cfg, 1, prefix_len) + kv_cache.cache_bytes(cfg, problems, suffix_len)
          + kv_cache.cache_bytes(cfg, problems * num_samples, max_new_tokens))
