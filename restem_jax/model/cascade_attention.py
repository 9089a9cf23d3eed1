"""The attention backend of the cascade decode step (`masks.CascadeMask`).

E-step prompts share a long few-shot prefix and each is sampled N times, so a decode
step's keys come in levels (`restem_jax.sampling.cascade` lays them out):

  prefix [1, K, P0, E]  shared by every row of the call;
  suffix [B, K, Ps, E]  one per problem (absent where each row holds its problem's
                        suffix at the head of its own cache, `sampling/refill.py`);
  own    [R, K, M, E]   each row's own generated tokens (R = B x N rows, problem-major).

A query of row (b, n) scores the keys of the prefix, of suffix row b and of its own
row; the score blocks are joined and normalised by one softmax (the split-softmax /
log-sum-exp merge of "cascade" or "bifurcated" attention), then each probability block
multiplies its own values. Memory and bandwidth for the prefix and suffix do not grow
with N. Reached through `attention.attend` with per-level {'prefix', 'suffix', 'own'}
key and value dicts; shape letters as in `layers.py` (R rows, M own slots).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from restem_jax.model import masks

_NEG_INF = -1e30


def attend(q_Rx1xHxE, k, v, mask: masks.CascadeMask):
  """Softmax over [prefix keys | the row's suffix keys | the row's own keys] -> Rx1xHxE."""
  r, _, h, e = q_Rx1xHxE.shape
  kh, m = k["own"].shape[1], k["own"].shape[2]
  has_suffix = "suffix" in k
  b = k["suffix"].shape[0] if has_suffix else r
  n = r // b
  q = q_Rx1xHxE.reshape(b, n, kh, h // kh, e)
  own_k, own_v = k["own"].reshape(b, n, kh, m, e), v["own"].reshape(b, n, kh, m, e)
  f32 = jnp.float32
  p0 = k["prefix"].shape[2]
  logits = [jnp.einsum("bnkge,kpe->bnkgp", q, k["prefix"][0], preferred_element_type=f32)]
  valid = [jnp.ones((b, n, p0), bool)]
  values = [(p0, lambda p: jnp.einsum("bnkgp,kpe->bnkge", p, v["prefix"][0]))]
  if has_suffix:
    ps = k["suffix"].shape[2]
    logits.append(jnp.einsum("bnkge,bkse->bnkgs", q, k["suffix"], preferred_element_type=f32))
    valid.append(jnp.broadcast_to(mask.suffix_valid_BxS[:, None], (b, n, ps)))
    values.append((ps, lambda p: jnp.einsum("bnkgs,bkse->bnkge", p, v["suffix"])))
  logits.append(jnp.einsum("bnkge,bnkme->bnkgm", q, own_k, preferred_element_type=f32))
  valid.append(mask.own_valid_RxM.reshape(b, n, m))
  values.append((m, lambda p: jnp.einsum("bnkgm,bnkme->bnkge", p, own_v)))
  valid = jnp.concatenate(valid, axis=-1)[:, :, None, None, :]
  logits = jnp.concatenate(logits, axis=-1) * (e ** -0.5)
  probs = jnp.where(valid, jax.nn.softmax(jnp.where(valid, logits, _NEG_INF), axis=-1), 0.0)
  probs = probs.astype(own_v.dtype)
  out, start = 0.0, 0
  for width, block in values:  # each probability block times its own values
    out, start = out + block(probs[..., start:start + width]), start + width
  return out.reshape(r, 1, h, e)


def write_own(own_RxKxMxE, x_RxKx1xE, slot):
  """Stores the new token's key or value at `slot` (scalar, or int32 [R]) of each row."""
  x = x_RxKx1xE.astype(own_RxKxMxE.dtype)
  if jnp.ndim(slot) == 0:  # every row at the same step: one slice
    return jax.lax.dynamic_update_slice(own_RxKxMxE, x, (0, 0, slot, 0))
  rows = jnp.arange(own_RxKxMxE.shape[0])
  return own_RxKxMxE.at[rows, :, slot].set(x[:, :, 0], mode="promise_in_bounds")


def with_new_token(levels: dict, k_RxKx1xE, v_RxKx1xE, slot):
  """(keys, values, own) for `attend`: per-level keys and values of one layer's
  {'prefix', 'suffix'?, 'own': {'k', 'v'}} caches, the new key and value written at
  `slot` of each row's own cache; `own` is that updated cache (the shared levels are
  read only)."""
  own = {"k": write_own(levels["own"]["k"], k_RxKx1xE, slot),
         "v": write_own(levels["own"]["v"], v_RxKx1xE, slot)}
  keys = {name: level["k"] for name, level in levels.items() if name != "own"}
  values = {name: level["v"] for name, level in levels.items() if name != "own"}
  return {**keys, "own": own["k"]}, {**values, "own": own["v"]}, own
