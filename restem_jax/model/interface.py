"""The model interface in the spirit of t5x `BaseModel`: plain functions of params.

Trainer and sampler call these; neither reaches into the Flax module. Params are
plain (unboxed) pytrees, or `lora_delta.AdaptedParams` (base + adapters) in a LoRA M-step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from restem_jax.model import lora_delta, masks
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
      lora_delta.variables_of(params), tokens_BxT, positions_BxT, masks.packed_causal(segment_ids_BxT))
  return logits


def hidden_fn(cfg: ModelConfig, params, tokens_BxT, segment_ids_BxT, positions_BxT=None):
  """Forward pass up to the final norm -> hidden states BxTxD (compute dtype), pre-LM-head."""
  if positions_BxT is None:
    positions_BxT = masks.positions_from_segments(segment_ids_BxT)
  hidden, _ = make_module(cfg).apply(
      lora_delta.variables_of(params), tokens_BxT, positions_BxT, masks.packed_causal(segment_ids_BxT),
      return_hidden=True)
  return hidden


def lm_head_DxV(cfg: ModelConfig, params):
  """The output projection: `logits = hidden @ lm_head_DxV` (the embedding when tied)."""
  return params["embedding"].T if cfg.tie_embeddings else params["lm_head"]


def token_logprobs(logits_BxTxV, targets_BxT):
  """log p(target) at each position, fp32."""
  logp = jax.nn.log_softmax(logits_BxTxV.astype(jnp.float32), axis=-1)
  return jnp.take_along_axis(logp, targets_BxT[..., None], axis=-1)[..., 0]


def score_fn(cfg: ModelConfig, params, batch):
  """Sum of target-token log-probs per row: batch has inputs/targets/segment_ids/loss_mask."""
  logits = logits_fn(cfg, params, batch["inputs"], batch["segment_ids"], batch.get("positions"))
  lp = token_logprobs(logits, batch["targets"])
  return jnp.sum(lp * batch["loss_mask"], axis=-1)
