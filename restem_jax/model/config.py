"""Frozen, typed model configuration (the library boundary for model hyper-parameters)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from restem_jax.model import rope

ATTENTION_IMPLS = ("auto", "einsum", "xla", "cudnn", "splash")
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
    rope_type: position-scaling variant of RoPE ('default', 'linear', 'dynamic', 'llama3';
      see `restem_jax.model.rope`).
    rope_factor: scaling factor of the 'linear', 'dynamic' and 'llama3' variants.
    rope_low_freq_factor, rope_high_freq_factor: the 'llama3' wavelength band edges.
    rope_original_max_len: context length the scaling is relative to ('llama3':
      original_max_position_embeddings; 'dynamic': max_position_embeddings).
    norm_eps: RMSNorm epsilon.
    qkv_bias: q/k/v projections carry a bias (Qwen2); the output projection never does.
    qk_norm: RMSNorm over head_dim on queries and keys before RoPE (Qwen3).
    sliding_window: the checkpoint's attention window in tokens (Mistral), 0 = none. The model
      attends over the full context, which equals windowed attention only while every
      sequence fits in the window: `check_context` refuses longer ones.
    tie_embeddings: share the input embedding with the output projection.
    dtype: activation/compute dtype name ('float32' on CPU, 'bfloat16' on TPU/GPU).
    param_dtype: parameter storage dtype name.
    remat: rematerialise each block in the backward pass (saves memory).
    scan_layers: run the decoder blocks as one `nn.scan` over params stacked on a leading
      'layers' axis instead of an unrolled loop: XLA compiles one block, not num_layers
      (`restem_jax.model.layer_stack`). A runtime field: checkpoints stay per-layer on disk.
    attention_impl: attention backend, 'auto' | 'einsum' | 'xla' | 'cudnn' | 'splash'
      (`restem_jax.model.attention`; 'auto' = splash on TPU, cudnn on GPU, einsum else).
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
  rope_type: str = "default"
  rope_factor: float = 1.0
  rope_low_freq_factor: float = 1.0
  rope_high_freq_factor: float = 4.0
  rope_original_max_len: int = 0
  norm_eps: float = 1e-6
  qkv_bias: bool = False
  qk_norm: bool = False
  sliding_window: int = 0
  tie_embeddings: bool = False
  dtype: str = "float32"
  param_dtype: str = "float32"
  remat: bool = False
  scan_layers: bool = False
  attention_impl: str = "auto"

  def __post_init__(self):
    if self.num_heads % self.num_kv_heads:
      raise ValueError(
          f"num_heads={self.num_heads} must be a multiple of num_kv_heads={self.num_kv_heads}.")
    for name in ("dtype", "param_dtype"):
      if getattr(self, name) not in _DTYPES:
        raise ValueError(f"ModelConfig.{name}={getattr(self, name)!r}; expected one of {sorted(_DTYPES)}.")
    rope.validate(self)
    if self.sliding_window < 0:
      raise ValueError(f"ModelConfig.sliding_window={self.sliding_window} must be >= 0 (0 = none).")
    if self.attention_impl not in ATTENTION_IMPLS:
      raise ValueError(f"ModelConfig.attention_impl={self.attention_impl!r}; expected one of "
                       f"{ATTENTION_IMPLS}.")

  def check_context(self, max_tokens: int, what: str = "context") -> None:
    """Raises unless sequences of `max_tokens` tokens (prompt + generation, or a packed
    training row) are computed exactly by this model: with a sliding window, only those
    that fit inside it are (the model has no windowed attention)."""
    if self.sliding_window and max_tokens > self.sliding_window:
      raise ValueError(
          f"{what} of {max_tokens} tokens exceeds the checkpoint's sliding_window="
          f"{self.sliding_window}: restem_jax attends over the full context, which differs from "
          "sliding-window attention beyond the window. Shorten the prompt buckets / "
          "max_new_tokens / train.seq_len to at most the window.")

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
    if self.qkv_bias:
      attn += e * (self.num_heads + 2 * self.num_kv_heads)
    if self.qk_norm:
      attn += 2 * e
    block = attn + 3 * d * f + 2 * d
    head = 0 if self.tie_embeddings else d * self.vocab_size
    return self.vocab_size * d + self.num_layers * block + d + head

  def flops_per_token(self, context_len: int = 0) -> float:
    """Forward FLOPs per token: 2 x non-embedding params + attention over `context_len` keys
    (at most `sliding_window` of them when the checkpoint has a window)."""
    if self.sliding_window:
      context_len = min(context_len, self.sliding_window)
    non_embed = self.num_params() - self.vocab_size * self.embed_dim
    if self.tie_embeddings:
      non_embed += self.vocab_size * self.embed_dim  # the tied matrix still does the logits matmul
    attn = 2 * 2 * self.num_layers * self.num_heads * self.head_dim * context_len
    return 2.0 * non_embed + attn
