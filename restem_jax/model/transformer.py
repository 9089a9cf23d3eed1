"""Decoder-only Llama-family transformer (pre-norm, RoPE, GQA, SwiGLU).

One `__call__` serves training (no cache, S == T) and decoding (explicit cache
pytree in, updated cache out); the attention mask is built by the caller
(`restem_jax.model.masks`) so packing and ragged prompts stay outside the module.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from restem_jax.model import layer_stack, layers
from restem_jax.model.config import ModelConfig

# Unrolled: one {'k': BxKxSxE, 'v': BxKxSxE} per layer; Scanned: {'k': LxBxKxSxE, 'v': ...}
# (`restem_jax.model.layer_stack`).
Cache = list[dict[str, Any]] | dict[str, Any]


class DecoderBlock(nn.Module):
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x_BxTxD, positions_BxT, mask_BxTxS, cache=None, cache_index=None):
    h, new_cache = layers.Attention(self.cfg, name="attn")(
        layers.RMSNorm(self.cfg, name="attn_norm")(x_BxTxD), positions_BxT, mask_BxTxS,
        cache, cache_index)
    x_BxTxD = x_BxTxD + h
    x_BxTxD = x_BxTxD + layers.SwiGLU(self.cfg, name="mlp")(
        layers.RMSNorm(self.cfg, name="mlp_norm")(x_BxTxD))
    return nn.with_logical_constraint(x_BxTxD, ("batch", "act_length", "act_embed")), new_cache


class Transformer(nn.Module):
  """Token ids -> next-token logits (fp32)."""
  cfg: ModelConfig

  @nn.compact
  def __call__(self, tokens_BxT, positions_BxT, mask_BxTxS, cache: Cache | None = None,
               cache_index=None, last_only: bool = False, return_hidden: bool = False):
    """last_only: return logits for the last position only (Bx1xV); prefill needs no more,
    and the LM head over all P prompt positions is 10-20% of a small model's prefill.
    return_hidden: return the final-normed hidden states BxTxD instead of logits (the
    chunked-vocabulary loss applies the LM head itself, see `interface.lm_head_DxV`)."""
    cfg = self.cfg
    embedding_VxD = self.param(
        "embedding", nn.with_logical_partitioning(nn.initializers.normal(1.0), ("vocab", "embed")),
        (cfg.vocab_size, cfg.embed_dim), cfg.weight_dtype)
    # Gather from an all-gathered table: a gather out of a vocab-sharded table
    # makes XLA replicate it anyway, with a warning and a slower path.
    table = nn.with_logical_constraint(embedding_VxD, (None, None))
    x = jnp.take(table, tokens_BxT, axis=0).astype(cfg.compute_dtype)
    x = nn.with_logical_constraint(x, ("batch", "act_length", "act_embed"))
    x, new_cache = layer_stack.of(cfg).apply(cfg, DecoderBlock, x, positions_BxT, mask_BxTxS,
                                             cache, cache_index)
    if last_only:
      x = x[:, -1:]
    x = layers.RMSNorm(cfg, name="final_norm")(x)
    if return_hidden:
      return x, new_cache
    if cfg.tie_embeddings:
      logits = jnp.einsum("btd,vd->btv", x, embedding_VxD.astype(cfg.compute_dtype))
    else:
      head_DxV = self.param(
          "lm_head", nn.with_logical_partitioning(layers._init, ("embed", "vocab")),  # pylint: disable=protected-access
          (cfg.embed_dim, cfg.vocab_size), cfg.weight_dtype)
      logits = jnp.einsum("btd,dv->btv", x, head_DxV.astype(cfg.compute_dtype))
    logits = nn.with_logical_constraint(logits.astype(jnp.float32),
                                        ("batch", "act_length", "act_vocab"))
    return logits, new_cache
