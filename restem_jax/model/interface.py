"""The model interface in the spirit of t5x `BaseModel`: plain functions of params.

Trainer and sampler call these; neither reaches into the Flax module. Params are
plain (unboxed) pytrees, or `lora_delta.AdaptedParams` (base + adapters) in a LoRA M-step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from restem_jax.model import layer_stack, lora_delta, masks
from restem_jax.model.config import ModelConfig
from restem_jax.model.transformer import Transformer


def make_module(cfg: ModelConfig) -> Transformer:
  return Transformer(cfg)


def init_boxed(cfg: ModelConfig, rng):
  """Initialise params with `nn.Partitioned` boxes (logical axis metadata)."""
  tokens = jnp.zeros((1, 8), jnp.int32)
  seg = jnp.ones((1, 8), jnp.int32)
  return make_module(cfg).init(rng, tokens, masks.positions_from_segments(seg),
                               masks.packed_causal(seg))["params"]


def logits_fn(cfg: ModelConfig, params, tokens_BxT, segment_ids_BxT, positions_BxT=None):
  """Full forward pass over (possibly packed) sequences -> fp32 logits BxTxV."""
  if positions_BxT is None:
    positions_BxT = masks.positions_from_segments(segment_ids_BxT)
  logits, _ = make_module(cfg).apply(
      lora_delta.variables_of(params), tokens_BxT, positions_BxT, masks.packed_causal(segment_ids_BxT),
      rngs=lora_delta.rngs_of(params))
  return logits


def hidden_fn(cfg: ModelConfig, params, tokens_BxT, segment_ids_BxT, positions_BxT=None):
  """Forward pass up to the final norm -> hidden states BxTxD (compute dtype), pre-LM-head."""
  if positions_BxT is None:
    positions_BxT = masks.positions_from_segments(segment_ids_BxT)
  hidden, _ = make_module(cfg).apply(
      lora_delta.variables_of(params), tokens_BxT, positions_BxT, masks.packed_causal(segment_ids_BxT),
      return_hidden=True, rngs=lora_delta.rngs_of(params))
  return hidden


def extend(cfg: ModelConfig, params, tokens_BxT, positions_BxT, mask, cache, cache_index,
           *, last_only: bool = False):
  """Runs tokens against a KV cache (prefill, or one decode step) -> (fp32 logits BxTxV, or
  Bx1xV with `last_only`; the new cache). The tokens' keys and values go to `cache_index`;
  `mask` is a dense BxTxS array over the cache (`masks.cache_mask`)."""
  return make_module(cfg).apply({"params": params}, tokens_BxT, positions_BxT, mask, cache,
                                cache_index, last_only=last_only)


def cascade_step(cfg: ModelConfig, params, prev_R, positions_Rx1, levels: dict,
                 mask: masks.CascadeMask, slot):
  """One decode step over cache levels (`cascade_attention.py`) -> (fp32 logits RxV, own).

  `levels`: {'prefix', 'suffix' (optional), 'own'} caches, each in the model's layer
  layout (`kv_cache`); token `prev_R` of each row is embedded at `positions_Rx1` and its
  key and value are written at `slot` (scalar or int32 [R]) of the row's own cache, which
  comes back updated (the shared levels are read only)."""
  cache = layer_stack.of(cfg).zip_levels(cfg, levels)
  logits_Rx1xV, own = extend(cfg, params, prev_R[:, None], positions_Rx1, mask, cache, slot)
  return logits_Rx1xV[:, 0], own


def lm_head_DxV(cfg: ModelConfig, params):
  """The output projection: `logits = hidden @ lm_head_DxV` (the embedding when tied)."""
  return params["embedding"].T if cfg.tie_embeddings else params["lm_head"]


def token_logprobs(logits_BxTxV, targets_BxT):
  """log p(target) at each position, fp32."""
  logp = jax.nn.log_softmax(logits_BxTxV.astype(jnp.float32), axis=-1)
  return jnp.take_along_axis(logp, targets_BxT[..., None], axis=-1)[..., 0]
