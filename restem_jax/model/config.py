"""Frozen, typed model configuration (the library boundary for model hyper-parameters)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Llama-family decoder-only transformer.

  Attributes:
    vocab_size: rows of the embedding table (may exceed the tokenizer's size).
    embed_dim: model width D.
    num_layers: number of decoder blocks.
    num_heads: query heads H.
    num_kv_heads: key/value heads K (grouped-query attention; H % K == 0).
    head_dim: per-head width E.
    mlp_dim: SwiGLU hidden width F.
    max_len: longest sequence (prompt + generation) the model is used with.
    rope_theta: rotary embedding base.
    norm_eps: RMSNorm epsilon.
    tie_embeddings: share the input embedding with the output projection.
    dtype: activation/compute dtype name ('float32' on CPU, 'bfloat16' on TPU/GPU).
    param_dtype: parameter storage dtype name.
    remat: rematerialise each block in the backward pass (saves memory).
  """

  vocab_size: int = 128
  embed_dim: int = 64
  num_layers: int = 2
  num_heads: int = 4
  num_kv_heads: int = 2
  head_dim: int = 16
  mlp_dim: int = 192
  max_len: int = 512
  rope_theta: float = 10_000.0
  norm_eps: float = 1e-6
  tie_embeddings: bool = False
  dtype: str = "float32"
  param_dtype: str = "float32"
  remat: bool = False

  def __post_init__(self):
    if self.num_heads % self.num_kv_heads:
      raise ValueError(
          f"num_heads={self.num_heads} must be a multiple of num_kv_heads={self.num_kv_heads}.")
    for name in ("dtype", "param_dtype"):
      if getattr(self, name) not in _DTYPES:
        raise ValueError(f"ModelConfig.{name}={getattr(self, name)!r}; expected one of {sorted(_DTYPES)}.")

  @property
  def compute_dtype(self):
    return _DTYPES[self.dtype]

  @property
  def weight_dtype(self):
    return _DTYPES[self.param_dtype]

  def num_params(self) -> int:
    """Parameter count (embeddings included)."""
    d, f, e = self.embed_dim, self.mlp_dim, self.head_dim
    attn = d * e * (self.num_heads * 2 + self.num_kv_heads * 2)
    block = attn + 3 * d * f + 2 * d
    head = 0 if self.tie_embeddings else d * self.vocab_size
    return self.vocab_size * d + self.num_layers * block + d + head

  def flops_per_token(self, context_len: int = 0) -> float:
    """Forward FLOPs per token: 2 x non-embedding params + attention over `context_len` keys."""
    non_embed = self.num_params() - self.vocab_size * self.embed_dim
    if self.tie_embeddings:
      non_embed += self.vocab_size * self.embed_dim  # the tied matrix still does the logits matmul
    attn = 2 * 2 * self.num_layers * self.num_heads * self.head_dim * context_len
    return 2.0 * non_embed + attn
