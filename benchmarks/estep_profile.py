"""Where one E-step decode step spends its time (for benchmarks/estep_workload.py).

Times, each jitted on its own at the loop's shapes (R rows, prefix P0, suffix bucket
Ps, M own slots, the loop's top-k), min over 20 calls:
  model:  the cascade step (embedding, layers over the three cache levels, LM head);
  attention: the part of `model` that is the three-level attention and the write of
          the new key/value into each row's own cache (every layer);
  select: token selection (per-row keys folded with the step, top-k, categorical)
          plus the token's log-prob;
  stops:  the on-device stop-string matcher.
The caller compares their sum with the measured time per loop iteration; the rest is
the loop's own work (cache and output writes, bookkeeping, refill starts).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import harness
from restem_jax.model import kv_cache, layer_stack
from restem_jax.model.interface import token_logprobs
from restem_jax.sampling import cascade, engines, stops
from restem_jax.sampling.strategies import select_tokens


def step_parts_ms(cfg, params, table: stops.StopTable, *, prefix_len: int, suffix_len: int,
                  problems: int, rows_per_problem: int, new_tokens: int, top_k: int,
                  pooled: bool = False, repeats: int = 20) -> dict[str, float]:
  """Milliseconds per decode step of each part, at the given shapes.

  pooled=False: the one-row-per-sample step (prefix, per-problem suffix, own tokens);
  True: `refill.py`'s step (prefix, own cache holding the problem's suffix then tokens)."""
  b, r, m, ps = problems, problems * rows_per_problem, new_tokens, suffix_len
  prefix = engines.CascadeEngine(cfg, m).prefill(params, np.arange(prefix_len) % 97 + 3, 1)
  suffix_BxS = jnp.full((b, ps), 5, jnp.int32)
  lens_B = jnp.full((b,), ps, jnp.int32)
  _, suffix, valid = jax.jit(lambda *a: cascade.prefill_suffix(cfg, *a))(params, prefix,
                                                                       suffix_BxS, lens_B)
  t = jnp.int32(m // 2)
  own_valid = jnp.broadcast_to(jnp.arange(m) < t, (r, m))
  if pooled:  # the suffix lives in each row's own cache
    own_valid = jnp.concatenate([jnp.repeat(valid, rows_per_problem, axis=0), own_valid], 1)
    own, suffix, valid, slot = kv_cache.init_cache(cfg, r, ps + m), None, None, ps + t - 1
  else:
    own, slot = kv_cache.init_cache(cfg, r, m), t - 1
  pos_Rx1 = jnp.full((r, 1), prefix_len + ps + t - 1)
  prev_R = jnp.full((r,), 7, jnp.int32)

  @jax.jit
  def model(own, prev_R):  # logits only: no copy of the updated cache out of the call
    return cascade.layers_step(cfg, params, own, prefix, prev_R, pos_Rx1, slot, own_valid,
                               suffix, valid)[0]

  logits_RxV = model(own, prev_R)
  q_RxHxE = jax.random.normal(jax.random.key(1), (r, cfg.num_heads, cfg.head_dim))

  @jax.jit
  def attention(own, q_RxHxE):
    def layer(p, q, caches):  # pylint: disable=protected-access
      del p
      own, prefix, *suf = caches
      kv = q[:, None, :cfg.num_kv_heads]
      own = {x: cascade._write_own(own[x], kv, slot) for x in ("k", "v")}
      return cascade._cascade_attention(q, prefix, suf[0] if suf else None, own, valid,
                                        own_valid), None
    caches = (own, prefix) + ((suffix,) if suffix is not None else ())
    return layer_stack.of(cfg).fold(cfg, params, layer, q_RxHxE, caches)[0]

  keys_R = jax.random.split(jax.random.key(0), r)

  @jax.jit
  def select(logits_RxV, keys_R):
    step_keys = jax.vmap(jax.random.fold_in)(keys_R, jnp.full((r,), m // 2))
    tok_R = select_tokens(logits_RxV, step_keys, jnp.float32(0.7), jnp.float32(1.0), top_k)
    return tok_R, token_logprobs(logits_RxV[:, None], tok_R[:, None])

  tail = stops.init_tail(r, table)
  match = jax.jit(stops.step)
  parts = {"model": lambda: model(own, prev_R), "attention": lambda: attention(own, q_RxHxE),
           "select": lambda: select(logits_RxV, keys_R),
           "stops": lambda: match(table, tail, prev_R)}
  out = {}
  for name, fn in parts.items():
    jax.block_until_ready(fn())  # compile
    out[name] = 1e3 * harness.min_time(lambda fn=fn: jax.block_until_ready(fn()), repeats)
  return out
