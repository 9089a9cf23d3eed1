"""Continuous batching for the cascade engine: S slots per problem serve its N samples.

`cascade.generate` gives every sample its own row, and a call lasts as long as its
longest sample: rows that end early idle until then. Here a call over B problems runs
only S < N rows ("slots") per problem. When a slot's sample ends (EOS set, stop
string, or max_new_tokens) the slot starts its problem's next unstarted sample at once:
its own-token cache length goes back to 0 (older entries are masked, then overwritten),
its first token is drawn from the logits after the problem's prompt (kept from the
suffix prefill, so no new prefill), and its tokens go to out[problem, sample]. The
slot keeps attending its problem's prefix and suffix cache, so memory is that of
B x S rows. The call ends when every sample of every problem is done.

Sample j of problem p draws step t with the key of (seed, iteration, p, offset + j)
folded with t, exactly as `decode.run_loop`, and a row's logits depend only on its
problem's prompt and its own tokens, so the samples are those of `cascade.generate`
whatever S and whatever the batch (tests/engine/test_refill.py). Slots that find no
unstarted sample of their problem idle until the call ends; `row_steps` counts them.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from restem_jax.model import kv_cache
from restem_jax.model.config import ModelConfig
from restem_jax.model.interface import token_logprobs
from restem_jax.sampling import cascade
from restem_jax.sampling import keys as keys_lib
from restem_jax.sampling import stops
from restem_jax.sampling.strategies import select_tokens


class _State(NamedTuple):
  next_B: jnp.ndarray          # int32: next unstarted sample index of each problem
  sample_R: jnp.ndarray        # int32: the sample a slot is producing
  t_R: jnp.ndarray             # int32: tokens that sample has so far
  prev_R: jnp.ndarray          # int32: its last token
  live_R: jnp.ndarray          # bool: the slot holds an unfinished sample
  tail_RxW: jnp.ndarray        # stop matcher state
  tokens_BxNxM: jnp.ndarray
  logprobs_BxNxM: jnp.ndarray
  lengths_BxN: jnp.ndarray
  own: list                    # per-slot cache of generated tokens
  steps: jnp.ndarray           # 1 + decode steps run


def generate(params, prefix_cache, suffix_BxS, suffix_lens_B, problem_idx_B, active_B, seed,
             iteration, sample_offset, temperature, top_p, stop_table: stops.StopTable, *,
             cfg: ModelConfig, num_samples: int, slots: int, max_new_tokens: int, top_k: int,
             pad_id: int = 0):
  """`cascade.generate`'s samples and outputs, on `slots` rows per problem.

  Returns `decode.generate`'s dict (rows problem-major, [B * N, ...]) plus 'row_steps',
  rows x decode steps run (B x slots x steps)."""
  b, n, s, m = suffix_BxS.shape[0], num_samples, slots, max_new_tokens
  last_BxV, step = cascade.prefill_and_step(cfg, params, prefix_cache, suffix_BxS,
                                            suffix_lens_B, s)
  start_RxV = jnp.repeat(last_BxV, s, axis=0)
  keys_BN = keys_lib.row_keys(seed, iteration, problem_idx_B,
                              sample_offset + jnp.arange(n, dtype=jnp.int32))
  problem_R = jnp.repeat(jnp.arange(b, dtype=jnp.int32), s)
  empty_tail = stops.init_tail(b * s, stop_table)

  def advance(st: _State, logits_RxV, mask_R) -> _State:
    """Draws token t_R of each masked slot's sample, records it, checks for its end."""
    sample_R = jnp.minimum(st.sample_R, n - 1)
    step_keys = jax.vmap(jax.random.fold_in)(keys_BN[problem_R * n + sample_R], st.t_R)
    tok_R = select_tokens(logits_RxV, step_keys, temperature, top_p, top_k)
    lp_R = token_logprobs(logits_RxV[:, None], tok_R[:, None])[:, 0]
    write_R = jnp.where(mask_R, sample_R, n)  # index n: dropped
    tokens = st.tokens_BxNxM.at[problem_R, write_R, st.t_R].set(tok_R, mode="drop")
    logprobs = st.logprobs_BxNxM.at[problem_R, write_R, st.t_R].set(lp_R, mode="drop")
    tail_RxW, hit_R = stops.step(stop_table, st.tail_RxW, tok_R)
    t_R = jnp.where(mask_R, st.t_R + 1, st.t_R)
    ended_R = mask_R & (hit_R | (t_R >= m))
    lengths = st.lengths_BxN.at[problem_R, jnp.where(ended_R, sample_R, n)].set(t_R, mode="drop")
    return st._replace(
        t_R=t_R, prev_R=jnp.where(mask_R, tok_R, st.prev_R),
        live_R=jnp.where(mask_R, ~ended_R, st.live_R),
        tail_RxW=jnp.where(mask_R[:, None], tail_RxW, st.tail_RxW),
        tokens_BxNxM=tokens, logprobs_BxNxM=logprobs, lengths_BxN=lengths)

  def can_start(st: _State):
    return ~st.live_R & (st.next_B[problem_R] < n)

  def start(st: _State) -> _State:
    """Each free slot takes its problem's next unstarted sample and draws its first token."""
    free_BxS = can_start(st).reshape(b, s)
    sample_BxS = st.next_B[:, None] + jnp.cumsum(free_BxS, axis=1) - 1
    got_BxS = free_BxS & (sample_BxS < n)
    got_R = got_BxS.reshape(-1)
    st = st._replace(next_B=st.next_B + got_BxS.sum(axis=1, dtype=jnp.int32),
                     sample_R=jnp.where(got_R, sample_BxS.reshape(-1), st.sample_R),
                     t_R=jnp.where(got_R, 0, st.t_R),
                     tail_RxW=jnp.where(got_R[:, None], empty_tail, st.tail_RxW))
    return advance(st, start_RxV, got_R)

  def fill(st: _State) -> _State:  # repeats while a first token already ended its sample
    return jax.lax.while_loop(lambda st: jnp.any(can_start(st)), start, st)

  def body(st: _State) -> _State:
    logits_RxV, own = step(st.own, st.prev_R, jnp.maximum(st.t_R, 1))
    st = advance(st._replace(own=own), logits_RxV, st.live_R)
    return fill(st._replace(steps=st.steps + 1))

  zeros = functools.partial(jnp.zeros, dtype=jnp.int32)
  st = _State(next_B=jnp.where(active_B, 0, n).astype(jnp.int32), sample_R=zeros(b * s),
              t_R=zeros(b * s), prev_R=zeros(b * s), live_R=jnp.zeros(b * s, bool),
              tail_RxW=empty_tail, tokens_BxNxM=jnp.full((b, n, m), pad_id, jnp.int32),
              logprobs_BxNxM=jnp.zeros((b, n, m), jnp.float32), lengths_BxN=zeros((b, n)),
              own=kv_cache.init_cache(cfg, b * s, m), steps=jnp.int32(1))
  st = jax.lax.while_loop(lambda st: jnp.any(st.live_R), body, fill(st))
  return {"tokens": st.tokens_BxNxM.reshape(b * n, m),
          "logprobs": st.logprobs_BxNxM.reshape(b * n, m),
          "lengths": st.lengths_BxN.reshape(-1), "steps": st.steps,
          "row_steps": st.steps * (b * s)}


def jit_generate(cfg: ModelConfig, *, num_samples: int, slots: int, max_new_tokens: int,
                 top_k: int, pad_id: int = 0):
  return jax.jit(functools.partial(generate, cfg=cfg, num_samples=num_samples, slots=slots,
                                   max_new_tokens=max_new_tokens, top_k=top_k, pad_id=pad_id))
