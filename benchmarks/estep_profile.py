"""Where one E-step decode step spends its time (for benchmarks/estep_workload.py).

Times, each jitted on its own at the loop's shapes (R rows, prefix P0, suffix bucket
Ps, M own slots, the loop's top-k), min over 20 calls. The parts that write the cache
run inside a `fori_loop` over a cache made in the call, as the decode loop updates it
in place (timed standalone, every call would copy the whole cache); their time per step
is (time of 2L steps - time of L steps) / L, which cancels the call's fixed costs.
  model:  the cascade step (embedding, layers over the three cache levels, LM head);
  attention: the part of `model` that is the three-level attention and the write of
          the new key/value into each row's own cache (every layer);
  select: token selection (per-row keys folded with the step, top-k, categorical)
          plus the token's log-prob;
  stops:  the on-device stop-string matcher.
The caller compares their sum with the measured time per loop iteration; the rest is
the loop's own work (cache and output writes, bookkeeping, refill starts).

  python -m benchmarks.estep_profile --sizes toy,20m,smollm2   # both engines, alone
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import harness
from restem_jax.model import cascade_attention, interface, kv_cache, layer_stack, masks
from restem_jax.model.interface import token_logprobs
from restem_jax.sampling import cascade, stops
from restem_jax.sampling.strategies import select_tokens


def step_parts_ms(cfg, params, table: stops.StopTable, *, prefix_len: int, suffix_len: int,
                  problems: int, rows_per_problem: int, new_tokens: int, top_k: int,
                  pooled: bool = False, repeats: int = 20) -> dict[str, float]:
  """Milliseconds per decode step of each part, at the given shapes.

  pooled=False: the one-row-per-sample step (prefix, per-problem suffix, own tokens);
  True: `refill.py`'s step (prefix, own cache holding the problem's suffix then tokens)."""
  b, r, m, ps = problems, problems * rows_per_problem, new_tokens, suffix_len
  prefix_1xP = jnp.asarray(np.arange(prefix_len) % 97 + 3, jnp.int32)[None]
  prefix = (kv_cache.first_row(cascade.jit_prefill_prefix(cfg)(params, prefix_1xP)) if prefix_len
            else kv_cache.init_cache(cfg, 1, 0))
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

  shared = {"prefix": prefix, **({"suffix": suffix} if suffix is not None else {})}
  mask = masks.CascadeMask(own_valid, valid)

  def model(own, prev_R):
    return interface.cascade_step(cfg, params, prev_R, pos_Rx1, {**shared, "own": own}, mask,
                                  slot)

  logits_RxV = jax.jit(model)(own, prev_R)[0]
  q_RxHxE = jax.random.normal(jax.random.key(1), (r, cfg.num_heads, cfg.head_dim))

  def attention(own, q_RxHxE):
    def layer(q, levels):  # the backend and the own-cache write, no projections
      kv_RxKx1xE = q[:, :cfg.num_kv_heads, None]
      k, v, own = cascade_attention.with_new_token(levels, kv_RxKx1xE, kv_RxKx1xE, slot)
      return cascade_attention.attend(q[:, None], k, v, mask)[:, 0], own
    levels = layer_stack.of(cfg).zip_levels(cfg, {**shared, "own": own})
    if cfg.scan_layers:
      return jax.lax.scan(layer, q_RxHxE, levels)
    owns = []
    for layer_levels in levels:
      q_RxHxE, layer_own = layer(q_RxHxE, layer_levels)
      owns.append(layer_own)
    return q_RxHxE, owns

  def per_step_ms(part, arg):
    """ms per step of `part(own, arg) -> (y, own)`, run in a loop on a fresh cache."""
    def run(steps):
      @jax.jit
      def loop(arg):
        def body(_, carry):
          y, own = part(carry[0], arg)
          return own, carry[1] + jnp.sum(y)
        return jax.lax.fori_loop(0, steps, body, (jax.tree.map(jnp.zeros_like, own),
                                                  jnp.float32(0)))[1]
      jax.block_until_ready(loop(arg))  # compile
      return harness.min_time(lambda: jax.block_until_ready(loop(arg)), max(repeats // 4, 2))
    steps = 4
    return 1e3 * max(run(2 * steps) - run(steps), 0.0) / steps

  keys_R = jax.random.split(jax.random.key(0), r)

  @jax.jit
  def select(logits_RxV, keys_R):
    step_keys = jax.vmap(jax.random.fold_in)(keys_R, jnp.full((r,), m // 2))
    tok_R = select_tokens(logits_RxV, step_keys, jnp.float32(0.7), jnp.float32(1.0), top_k)
    return tok_R, token_logprobs(logits_RxV[:, None], tok_R[:, None])

  tail = stops.init_tail(r, table)
  match = jax.jit(stops.step)
  parts = {"select": lambda: select(logits_RxV, keys_R),
           "stops": lambda: match(table, tail, prev_R)}
  out = {"model": per_step_ms(model, prev_R), "attention": per_step_ms(attention, q_RxHxE)}
  for name, fn in parts.items():
    jax.block_until_ready(fn())  # compile
    out[name] = 1e3 * harness.min_time(lambda fn=fn: jax.block_until_ready(fn()), repeats)
  return out


def main():
  import argparse  # pylint: disable=import-outside-toplevel
  import os  # pylint: disable=import-outside-toplevel
  import tempfile  # pylint: disable=import-outside-toplevel
  from benchmarks import models  # pylint: disable=import-outside-toplevel
  from benchmarks.estep_parts import WordVocab  # pylint: disable=import-outside-toplevel
  ap = argparse.ArgumentParser(description="Parts of one E-step decode step, both engines.")
  ap.add_argument("--sizes", default="toy,20m")
  ap.add_argument("--ckpt", default=os.path.join(tempfile.gettempdir(), "smollm2_135m_ckpt"))
  ap.add_argument("--problems", type=int, default=4)
  ap.add_argument("--samples", default="8,32")
  ap.add_argument("--slots", default="2,8")
  ap.add_argument("--prefix", type=int, default=512)
  ap.add_argument("--suffix-bucket", type=int, default=128)
  ap.add_argument("--new-tokens", type=int, default=128)
  args = ap.parse_args()
  mesh = models.one_device_mesh()
  print("| model | problems x N | engine | rows | model ms | of which attention ms | "
        "select ms | stops ms |\n|---|---|---|---|---|---|---|---|", flush=True)
  for size in args.sizes.split(","):
    cfg, params = models.load_size(size, mesh, args.ckpt)
    table = stops.table_for(WordVocab(cfg.vocab_size), cfg.vocab_size, ("<5>",))
    for n, s in zip(*(map(int, a.split(",")) for a in (args.samples, args.slots))):
      for engine, rows, pooled in (("end-of-batch", n, False), ("refill", s, True)):
        parts = step_parts_ms(cfg, params, table, prefix_len=args.prefix,
                              suffix_len=args.suffix_bucket, problems=args.problems,
                              rows_per_problem=rows, new_tokens=args.new_tokens, top_k=40,
                              pooled=pooled)
        print(f"| {size} | {args.problems} x {n} | {engine} | {args.problems * rows} | "
              + " | ".join(f"{parts[k]:.2f}" for k in ("model", "attention", "select", "stops"))
              + " |", flush=True)


if __name__ == "__main__":
  harness.pin_threads(1)  # before jax's backend starts (it starts at first use)
  main()
