"""The jitted decode program: prefill once per prompt, then a `lax.while_loop`.

Prompts arrive left-padded to a bucket length P; each row's RoPE positions count
only its real tokens, so a prompt decodes the same whatever the padding. The
prompt is prefilled once into a preallocated cache of length S = P + M, which is
then repeated for the N samples of that prompt. The loop writes one token per
step with `dynamic_update_slice` and stops as soon as every row has produced EOS
(or M tokens): no host sync per token.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from restem_jax.model import kv_cache, masks
from restem_jax.model.config import ModelConfig
from restem_jax.model.interface import make_module, token_logprobs
from restem_jax.sampling import keys as keys_lib
from restem_jax.sampling.strategies import select_tokens


def _prefill(cfg, params, prompts_BxP, prompt_lens_B, total_len):
  b, p = prompts_BxP.shape
  slots_P = jnp.arange(p)
  pad_B = p - prompt_lens_B
  prompt_valid_BxP = slots_P[None] >= pad_B[:, None]
  positions_BxP = jnp.maximum(slots_P[None] - pad_B[:, None], 0)
  key_valid_BxS = jnp.concatenate(
      [prompt_valid_BxP, jnp.ones((b, total_len - p), bool)], axis=1)
  mask_BxPxS = masks.cache_mask(key_valid_BxS, jnp.broadcast_to(slots_P, (b, p)))
  cache = kv_cache.init_cache(cfg, b, total_len)
  logits_Bx1xV, cache = make_module(cfg).apply(
      {"params": params}, prompts_BxP, positions_BxP, mask_BxPxS, cache, 0, last_only=True)
  return logits_Bx1xV[:, 0], cache, key_valid_BxS


def generate(params, prompts_BxP, prompt_lens_B, problem_idx_B, seed, iteration, sample_offset,
             temperature, top_p, *, cfg: ModelConfig, num_samples: int, max_new_tokens: int,
             top_k: int, eos_id: int, pad_id: int = 0):
  """Sample `num_samples` continuations of each prompt.

  Args:
    params: model params (plain pytree).
    prompts_BxP: int32 left-padded prompt ids.
    prompt_lens_B: int32 number of real tokens per prompt (>= 1).
    problem_idx_B: int32 stable problem indices (see `keys.problem_index`).
    seed, iteration, sample_offset: int32 scalars; row (b, n) uses the key of
      (seed, iteration, problem_idx_B[b], sample_offset + n).
    temperature, top_p: float32 scalars (traced: changing them does not recompile).
  Returns:
    dict with 'tokens' int32 [B*N, M] (pad after EOS), 'logprobs' float32 [B*N, M]
    (log p_model(token) at temperature 1, 0 after EOS), 'lengths' int32 [B*N]
    (generated tokens including the EOS, if any). Rows are problem-major.
  """
  _, p = prompts_BxP.shape
  n, m = num_samples, max_new_tokens
  last_BxV, cache, key_valid_BxS = _prefill(cfg, params, prompts_BxP, prompt_lens_B, p + m)
  rep = functools.partial(jnp.repeat, repeats=n, axis=0)
  last_RxV, key_valid_RxS, lens_R = rep(last_BxV), rep(key_valid_BxS), rep(prompt_lens_B)
  cache = jax.tree.map(rep, cache)
  r = last_RxV.shape[0]
  keys_R = keys_lib.row_keys(seed, iteration, problem_idx_B,
                             sample_offset + jnp.arange(n, dtype=jnp.int32))

  def pick(logits_RxV, t):
    tok_R = select_tokens(logits_RxV, keys_lib.step_keys(keys_R, t), temperature, top_p, top_k)
    return tok_R, token_logprobs(logits_RxV[:, None], tok_R[:, None])[:, 0]

  tok0, lp0 = pick(last_RxV, 0)
  tokens_RxM = jnp.full((r, m), pad_id, jnp.int32).at[:, 0].set(tok0)
  logprobs_RxM = jnp.zeros((r, m), jnp.float32).at[:, 0].set(lp0)
  module = make_module(cfg)

  def cond(state):
    t, _, _, _, done_R, _ = state
    return (t < m) & ~jnp.all(done_R)

  def body(state):
    t, prev_R, tokens_RxM, logprobs_RxM, done_R, cache = state
    slot = p + t - 1
    mask_Rx1xS = masks.cache_mask(key_valid_RxS, jnp.full((r, 1), slot))
    logits, cache = module.apply({"params": params}, prev_R[:, None], (lens_R + t - 1)[:, None],
                                 mask_Rx1xS, cache, slot)
    tok_R, lp_R = pick(logits[:, 0], t)
    tok_R = jnp.where(done_R, pad_id, tok_R)
    lp_R = jnp.where(done_R, 0.0, lp_R)
    tokens_RxM = jax.lax.dynamic_update_slice(tokens_RxM, tok_R[:, None], (0, t))
    logprobs_RxM = jax.lax.dynamic_update_slice(logprobs_RxM, lp_R[:, None], (0, t))
    return t + 1, tok_R, tokens_RxM, logprobs_RxM, done_R | (tok_R == eos_id), cache

  state = (jnp.int32(1), tok0, tokens_RxM, logprobs_RxM, tok0 == eos_id, cache)
  _, _, tokens_RxM, logprobs_RxM, _, _ = jax.lax.while_loop(cond, body, state)
  is_eos = tokens_RxM == eos_id
  lengths_R = jnp.where(jnp.any(is_eos, axis=1), jnp.argmax(is_eos, axis=1) + 1, m)
  return {"tokens": tokens_RxM, "logprobs": logprobs_RxM, "lengths": lengths_R.astype(jnp.int32)}


def jit_generate(cfg: ModelConfig, *, num_samples: int, max_new_tokens: int, top_k: int,
                 eos_id: int, pad_id: int = 0):
  """A compiled `generate` for one (model, N, M, top_k) combination."""
  fn = functools.partial(generate, cfg=cfg, num_samples=num_samples,
                         max_new_tokens=max_new_tokens, top_k=top_k, eos_id=eos_id, pad_id=pad_id)
  return jax.jit(fn)
