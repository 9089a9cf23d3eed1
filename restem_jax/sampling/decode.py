"""The jitted decode program: prefill once per prompt, then a `lax.while_loop`.

Prompts arrive left-padded to a bucket length P; each row's RoPE positions count
only its real tokens, so a prompt decodes the same whatever the padding. The
prompt is prefilled once into a preallocated cache of length S = P + M, which is
then repeated for the N samples of that prompt. The loop writes one token per
step with `dynamic_update_slice` and stops as soon as every row is done: no host
sync per token. A row is done after a token of the EOS set, after the token that
completes one of the task's stop strings (matched on device, `stops.py`), after M
tokens, or from the start when it is a filler row (`active_B` False).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from restem_jax.model import interface, kv_cache, masks
from restem_jax.model.config import ModelConfig
from restem_jax.model.interface import token_logprobs
from restem_jax.sampling import keys as keys_lib
from restem_jax.sampling import stops
from restem_jax.sampling.decode_input import DecodeBatch, DecodeShape
from restem_jax.sampling.strategies import select_tokens


def _prefill(cfg, params, prompts_BxP, prompt_lens_B, total_len, cache_dtype):
  b, p = prompts_BxP.shape
  slots_P = jnp.arange(p)
  pad_B = p - prompt_lens_B
  prompt_valid_BxP = slots_P[None] >= pad_B[:, None]
  positions_BxP = jnp.maximum(slots_P[None] - pad_B[:, None], 0)
  key_valid_BxS = jnp.concatenate(
      [prompt_valid_BxP, jnp.ones((b, total_len - p), bool)], axis=1)
  mask_BxPxS = masks.cache_mask(key_valid_BxS, jnp.broadcast_to(slots_P, (b, p)))
  cache = kv_cache.init_cache(cfg, b, total_len, cache_dtype)
  logits_Bx1xV, cache = interface.extend(cfg, params, prompts_BxP, positions_BxP, mask_BxPxS,
                                         cache, 0, last_only=True)
  return logits_Bx1xV[:, 0], cache, key_valid_BxS


def generate(params, batch: DecodeBatch, *, cfg: ModelConfig, shape: DecodeShape):
  """Sample `shape.num_samples` continuations of each prompt of `batch` (`DecodeBatch`).

  Returns:
    dict with 'tokens' int32 [B*N, M] (pad after the row's last token), 'logprobs'
    float32 [B*N, M] (log p_model(token) at temperature 1, 0 after it), 'lengths'
    int32 [B*N] (generated tokens, including the EOS or the token completing a stop
    string; 0 for filler rows), 'steps' int32 (1 + decode steps run, <= M),
    'row_steps' int32 (rows x steps: the decode work paid). Rows are problem-major.
  """
  _, p = batch.prompts_BxP.shape
  n, m = shape.num_samples, shape.max_new_tokens
  last_BxV, cache, key_valid_BxS = _prefill(cfg, params, batch.prompts_BxP, batch.prompt_lens_B,
                                            p + m, shape.cache_dtype)
  rep = functools.partial(jnp.repeat, repeats=n, axis=0)
  key_valid_RxS, lens_R = rep(key_valid_BxS), rep(batch.prompt_lens_B)
  cache = kv_cache.repeat_rows(cache, n)

  def step(cache, prev_R, t):
    slot = p + t - 1
    mask_Rx1xS = masks.cache_mask(key_valid_RxS, jnp.full((lens_R.shape[0], 1), slot))
    logits, cache = interface.extend(cfg, params, prev_R[:, None], (lens_R + t - 1)[:, None],
                                     mask_Rx1xS, cache, slot)
    return logits[:, 0], cache

  return run_loop(step, cache, rep(last_BxV), row_keys(batch, n), rep(batch.active_B), batch,
                  shape)


def row_keys(batch: DecodeBatch, num_samples: int):
  """Key of row (b, n): (seed, iteration, problem_idx_B[b], sample_offset + n), problem-major."""
  return keys_lib.row_keys(batch.seed, batch.iteration, batch.problem_idx_B,
                           batch.sample_offset + jnp.arange(num_samples, dtype=jnp.int32))


def run_loop(step, cache, last_RxV, keys_R, active_R, batch: DecodeBatch, shape: DecodeShape):
  """The token loop shared by the decode engines.

  `step(cache, prev_R, t) -> (logits_RxV, cache)` feeds generated token t - 1 of every
  row; `last_RxV` are the logits after each row's prompt; `batch` gives the sampling
  scalars and the stop table. Returns `generate`'s dict.
  """
  r, m = last_RxV.shape[0], shape.max_new_tokens
  temperature, top_p, stop_table = batch.temperature, batch.top_p, batch.stop_table
  top_k, pad_id = shape.top_k, shape.pad_id

  def pick(logits_RxV, t, done_R):
    tok_R = select_tokens(logits_RxV, keys_lib.step_keys(keys_R, t), temperature, top_p, top_k)
    lp_R = token_logprobs(logits_RxV[:, None], tok_R[:, None])[:, 0]
    return jnp.where(done_R, pad_id, tok_R), jnp.where(done_R, 0.0, lp_R)

  tok0, lp0 = pick(last_RxV, 0, ~active_R)
  tail_RxW, hit_R = stops.step(stop_table, stops.init_tail(r, stop_table), tok0)
  done_R = hit_R | ~active_R
  length_R = jnp.where(active_R, jnp.where(hit_R, 1, m), 0).astype(jnp.int32)
  tokens_RxM = jnp.full((r, m), pad_id, jnp.int32).at[:, 0].set(tok0)
  logprobs_RxM = jnp.zeros((r, m), jnp.float32).at[:, 0].set(lp0)

  def cond(state):
    t, done_R = state[0], state[4]
    return (t < m) & ~jnp.all(done_R)

  def body(state):
    t, prev_R, tokens_RxM, logprobs_RxM, done_R, length_R, tail_RxW, cache = state
    logits_RxV, cache = step(cache, prev_R, t)
    tok_R, lp_R = pick(logits_RxV, t, done_R)
    tokens_RxM = jax.lax.dynamic_update_slice(tokens_RxM, tok_R[:, None], (0, t))
    logprobs_RxM = jax.lax.dynamic_update_slice(logprobs_RxM, lp_R[:, None], (0, t))
    tail_RxW, hit_R = stops.step(stop_table, tail_RxW, tok_R)
    length_R = jnp.where(hit_R & ~done_R, t + 1, length_R)
    return (t + 1, tok_R, tokens_RxM, logprobs_RxM, done_R | hit_R, length_R, tail_RxW, cache)

  state = (jnp.int32(1), tok0, tokens_RxM, logprobs_RxM, done_R, length_R, tail_RxW, cache)
  steps, _, tokens_RxM, logprobs_RxM, _, length_R, _, _ = jax.lax.while_loop(cond, body, state)
  return {"tokens": tokens_RxM, "logprobs": logprobs_RxM, "lengths": length_R, "steps": steps,
          "row_steps": steps * r}


def jit_generate(cfg: ModelConfig, shape: DecodeShape):
  """A compiled `generate(params, batch)` for one (model, shape)."""
  return jax.jit(functools.partial(generate, cfg=cfg, shape=shape))
