"""Continuous batching for the cascade engine: a pool of slots serves every sample of a call.

`cascade.generate` gives every sample its own row, and a call lasts as long as its
longest sample: rows that end early idle until then. Here a call over B problems runs
R = B x S rows ("slots", S = `sampler.slots_per_problem` < N) that take the call's
B x N samples from one queue, in problem-major order. When a slot's sample ends (EOS
set, stop string, or max_new_tokens) the slot starts the next unstarted sample of any
problem at once, as JetStream inserts requests into free decode slots: it copies that
problem's suffix keys and values (prefilled once per problem, against the shared
prefix) into the head of its own cache, its own-token length goes back to 0, its
first token is drawn from the logits after the problem's prompt (kept from the suffix
prefill, so no new prefill), and its tokens go to out[problem, sample]. Attention then
has two levels, the shared prefix and the row's own cache (its problem's suffix, then
its tokens). Memory is R x (suffix bucket + M) own slots, whatever N. A slot idles only
when the queue is empty; the call ends when every sample is done.

Sample j of problem p draws step t with the key of (seed, iteration, p, offset + j)
folded with t, exactly as `decode.run_loop`, and a row's logits depend only on its
problem's prompt and its own tokens, so the samples are those of `cascade.generate`
whatever S and whatever the batch (tests/engine/test_refill.py). `row_steps` counts
R x decode steps, idle slots included.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from restem_jax.model import interface, kv_cache, masks
from restem_jax.model.config import ModelConfig
from restem_jax.model.interface import token_logprobs
from restem_jax.sampling import cascade, decode, stops
from restem_jax.sampling.decode_input import DecodeBatch, DecodeShape
from restem_jax.sampling.strategies import select_tokens


class _State(NamedTuple):
  next_q: jnp.ndarray          # int32: next unstarted item of the queue (item q: sample
                               # q % N of the (q // N)-th active problem)
  problem_R: jnp.ndarray       # int32: the problem a slot is serving
  sample_R: jnp.ndarray        # int32: the sample a slot is producing
  t_R: jnp.ndarray             # int32: tokens that sample has so far
  prev_R: jnp.ndarray          # int32: its last token
  live_R: jnp.ndarray          # bool: the slot holds an unfinished sample
  tail_RxW: jnp.ndarray        # stop matcher state
  tokens_BxNxM: jnp.ndarray
  logprobs_BxNxM: jnp.ndarray
  lengths_BxN: jnp.ndarray
  own: list                    # per-slot cache: its problem's suffix, then its tokens
  steps: jnp.ndarray           # 1 + decode steps run


def _load_suffix(own, suffix_cache, problem_R, got_R):
  """Slots in `got_R` get the suffix keys/values of `problem_R` at the head of own."""
  ps = kv_cache.length(suffix_cache)

  def load(own_x, suffix_x):
    new = jnp.take(suffix_x, problem_R, axis=kv_cache.ROWS_AXIS)
    keep = own_x[..., :ps, :]
    head = jnp.where(got_R[:, None, None, None], new, keep)
    return jax.lax.dynamic_update_slice_in_dim(own_x, head, 0, axis=kv_cache.LENGTH_AXIS)

  return jax.tree.map(load, own, suffix_cache)


def generate(params, prefix_cache, batch: DecodeBatch, *, cfg: ModelConfig, shape: DecodeShape,
             slots: int):
  """`cascade.generate`'s samples and outputs, on `slots` x B rows shared by all problems.

  Returns `decode.generate`'s dict (rows problem-major, [B * N, ...]) plus 'row_steps',
  rows x decode steps run (B x slots x steps)."""
  b, ps = batch.prompts_BxP.shape
  n, m, r = shape.num_samples, shape.max_new_tokens, b * slots
  temperature, top_p, stop_table = batch.temperature, batch.top_p, batch.stop_table
  top_k = shape.top_k
  last_BxV, suffix_cache, suffix_valid_BxS = cascade.prefill_suffix(
      cfg, params, prefix_cache, batch.prompts_BxP, batch.prompt_lens_B)
  lens_B = kv_cache.length(prefix_cache) + batch.prompt_lens_B
  keys_BN = decode.row_keys(batch, n)
  active_order_B = jnp.argsort(~batch.active_B, stable=True).astype(jnp.int32)  # active first
  work = batch.active_B.sum(dtype=jnp.int32) * n
  empty_tail = stops.init_tail(r, stop_table)

  def step(st: _State):
    own_valid = jnp.concatenate([suffix_valid_BxS[st.problem_R],
                                 jnp.arange(m) < st.t_R[:, None]], axis=1)
    return interface.cascade_step(cfg, params, st.prev_R,
                                  (lens_B[st.problem_R] + st.t_R - 1)[:, None],
                                  {"prefix": prefix_cache, "own": st.own},
                                  masks.CascadeMask(own_valid), ps + st.t_R - 1)

  def advance(st: _State, logits_RxV, mask_R) -> _State:
    """Draws token t_R of each masked slot's sample, records it, checks for its end."""
    p_R, sample_R = st.problem_R, jnp.minimum(st.sample_R, n - 1)
    step_keys = jax.vmap(jax.random.fold_in)(keys_BN[p_R * n + sample_R], st.t_R)
    tok_R = select_tokens(logits_RxV, step_keys, temperature, top_p, top_k)
    lp_R = token_logprobs(logits_RxV[:, None], tok_R[:, None])[:, 0]
    write_R = jnp.where(mask_R, sample_R, n)  # index n: dropped
    tokens = st.tokens_BxNxM.at[p_R, write_R, st.t_R].set(tok_R, mode="drop")
    logprobs = st.logprobs_BxNxM.at[p_R, write_R, st.t_R].set(lp_R, mode="drop")
    tail_RxW, hit_R = stops.step(stop_table, st.tail_RxW, tok_R)
    t_R = jnp.where(mask_R, st.t_R + 1, st.t_R)
    ended_R = mask_R & (hit_R | (t_R >= m))
    lengths = st.lengths_BxN.at[p_R, jnp.where(ended_R, sample_R, n)].set(t_R, mode="drop")
    return st._replace(
        t_R=t_R, prev_R=jnp.where(mask_R, tok_R, st.prev_R),
        live_R=jnp.where(mask_R, ~ended_R, st.live_R),
        tail_RxW=jnp.where(mask_R[:, None], tail_RxW, st.tail_RxW),
        tokens_BxNxM=tokens, logprobs_BxNxM=logprobs, lengths_BxN=lengths)

  def can_start(st: _State):
    return jnp.any(~st.live_R) & (st.next_q < work)

  def start(st: _State) -> _State:
    """Free slots take the next queue items, load their suffix, draw their first token."""
    free_R = ~st.live_R
    q_R = st.next_q + jnp.cumsum(free_R, dtype=jnp.int32) - 1
    got_R = free_R & (q_R < work)
    problem_R = jnp.where(got_R, active_order_B[jnp.minimum(q_R // n, b - 1)], st.problem_R)
    st = st._replace(next_q=st.next_q + got_R.sum(dtype=jnp.int32), problem_R=problem_R,
                     sample_R=jnp.where(got_R, q_R % n, st.sample_R),
                     t_R=jnp.where(got_R, 0, st.t_R),
                     tail_RxW=jnp.where(got_R[:, None], empty_tail, st.tail_RxW),
                     own=_load_suffix(st.own, suffix_cache, problem_R, got_R))
    return advance(st, last_BxV[problem_R], got_R)

  def fill(st: _State) -> _State:  # repeats while a first token already ended its sample
    return jax.lax.while_loop(can_start, start, st)

  def body(st: _State) -> _State:
    logits_RxV, own = step(st._replace(t_R=jnp.maximum(st.t_R, 1)))
    st = advance(st._replace(own=own), logits_RxV, st.live_R)
    return fill(st._replace(steps=st.steps + 1))

  zeros = functools.partial(jnp.zeros, dtype=jnp.int32)
  st = _State(next_q=jnp.int32(0), problem_R=zeros(r), sample_R=zeros(r), t_R=zeros(r),
              prev_R=zeros(r), live_R=jnp.zeros(r, bool), tail_RxW=empty_tail,
              tokens_BxNxM=jnp.full((b, n, m), shape.pad_id, jnp.int32),
              logprobs_BxNxM=jnp.zeros((b, n, m), jnp.float32), lengths_BxN=zeros((b, n)),
              own=kv_cache.init_cache(cfg, r, ps + m, shape.cache_dtype), steps=jnp.int32(1))
  st = jax.lax.while_loop(lambda st: jnp.any(st.live_R), body, fill(st))
  return {"tokens": st.tokens_BxNxM.reshape(b * n, m),
          "logprobs": st.logprobs_BxNxM.reshape(b * n, m),
          "lengths": st.lengths_BxN.reshape(-1), "steps": st.steps, "row_steps": st.steps * r}


def cache_bytes(cfg: ModelConfig, prefix_len: int, problems: int, suffix_len: int, slots: int,
                max_new_tokens: int, dtype: str = "") -> int:
  """KV bytes of one call: the prefix, each problem's suffix, and every slot's own cache
  (its problem's suffix, then its tokens), in cache dtype `dtype` (kv_cache.py)."""
  return (kv_cache.cache_bytes(cfg, 1, prefix_len, dtype)
          + kv_cache.cache_bytes(cfg, problems, suffix_len, dtype)
          + kv_cache.cache_bytes(cfg, problems * slots, suffix_len + max_new_tokens, dtype))
