"""Transformer building blocks with logical axis names.

Shape letters used in tensor names throughout `restem_jax.model`:
  B batch, T query length, S key length (= cache length when decoding),
  D embed, H query heads, K key/value heads, G = H // K query heads per kv head,
  E head dim, F mlp hidden, V vocab.

Parameter axes: 'vocab', 'embed', 'heads', 'kv_heads', 'head_dim', 'mlp'.
Activation axes: 'batch', 'act_length', 'act_embed', 'act_heads', 'act_kv_heads',
'act_mlp', 'act_vocab', 'cache_length'. The mapping to mesh axes lives in the config
(`restem_jax.sharding.rules`), never here.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from restem_jax.model import attention, cascade_attention, lora_delta, masks, rope
from restem_jax.model.config import ModelConfig

_init = nn.initializers.normal(stddev=0.02)


def _param(module, name, init, shape, axes, dtype):
  return module.param(name, nn.with_logical_partitioning(init, axes), shape, dtype)


class RMSNorm(nn.Module):
  """Root-mean-square norm over the last axis with a learned scale (computed in fp32)."""
  cfg: ModelConfig
  axis_name: str = "embed"  # logical name of the normalised axis ('head_dim' for QK-norm)

  @nn.compact
  def __call__(self, x):
    scale = _param(self, "scale", nn.initializers.ones, (x.shape[-1],), (self.axis_name,),
                   self.cfg.weight_dtype)
    x32 = x.astype(jnp.float32)
    y = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.cfg.norm_eps)
    return (y * scale.astype(jnp.float32)).astype(self.cfg.compute_dtype)




class Attention(nn.Module):
  """Multi-head attention with GQA, RoPE and an optional preallocated KV cache.

  Architecture variants (all off by default): q/k/v biases (`cfg.qkv_bias`, Qwen2),
  RMSNorm on each query/key head before RoPE (`cfg.qk_norm`, Qwen3), and the RoPE
  scaling variant chosen by `cfg.rope_type` (`restem_jax.model.rope`).
  """
  cfg: ModelConfig

  def _project(self, x_BxTxD, name: str, heads: int, heads_axis: str):
    """x W (+ b): BxTxD -> BxTxNxE, params `w<name>` [D, N, E] and `b<name>` [N, E]."""
    cfg = self.cfg
    w = _param(self, "w" + name, _init, (cfg.embed_dim, heads, cfg.head_dim),
               ("embed", heads_axis, "head_dim"), cfg.weight_dtype)
    y = lora_delta.project(self, "w" + name, "btd,dne->btne", x_BxTxD, w,
                               cfg.compute_dtype)
    if cfg.qkv_bias:
      b = _param(self, "b" + name, nn.initializers.zeros, (heads, cfg.head_dim),
                 (heads_axis, "head_dim"), cfg.weight_dtype)
      y = y + b.astype(cfg.compute_dtype)
    return y

  @nn.compact
  def __call__(self, x_BxTxD, positions_BxT, mask_BxTxS, cache=None, cache_index=None):
    cfg = self.cfg
    d, h, k, e = cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
    q = self._project(x_BxTxD, "q", h, "heads")
    kk = self._project(x_BxTxD, "k", k, "kv_heads")
    vv = self._project(x_BxTxD, "v", k, "kv_heads")
    wo = _param(self, "wo", _init, (h, e, d), ("heads", "head_dim", "embed"), cfg.weight_dtype)
    dt = cfg.compute_dtype
    q = nn.with_logical_constraint(q, ("batch", "act_length", "act_heads", "head_dim"))
    if cfg.qk_norm:
      q = RMSNorm(cfg, "head_dim", name="q_norm")(q)
      kk = RMSNorm(cfg, "head_dim", name="k_norm")(kk)
    rotation = rope.for_config(cfg)
    q = rope.apply(q, positions_BxT, rotation)
    kk = rope.apply(kk, positions_BxT, rotation)
    kk, vv = kk.transpose(0, 2, 1, 3), vv.transpose(0, 2, 1, 3)  # BxKxTxE
    if isinstance(mask_BxTxS, masks.CascadeMask):
      kk, vv, new_cache = cascade_attention.with_new_token(cache, kk, vv, cache_index)
      out = attention.attend(cfg, q, kk, vv, mask_BxTxS)
    else:
      kk, vv, new_cache = _write_cache(kk, vv, cache, cache_index)
      out = attention.attend(cfg, q, kk.astype(dt), vv.astype(dt), mask_BxTxS)
    y = lora_delta.project(self, "wo", "bthe,hed->btd", out, wo, dt)
    return nn.with_logical_constraint(y, ("batch", "act_length", "act_embed")), new_cache


def _write_cache(k_BxKxTxE, v_BxKxTxE, cache, cache_index):
  """(keys, values, new cache): the new keys written at `cache_index` of a dense cache."""
  if cache is None:
    return k_BxKxTxE, v_BxKxTxE, None
  axes = ("batch", "act_kv_heads", "cache_length", "head_dim")
  kk, vv = (nn.with_logical_constraint(
      jax.lax.dynamic_update_slice(cache[x], y.astype(cache[x].dtype), (0, 0, cache_index, 0)),
      axes) for x, y in (("k", k_BxKxTxE), ("v", v_BxKxTxE)))
  return kk, vv, {"k": kk, "v": vv}


class SwiGLU(nn.Module):
  """Gated MLP: down(silu(x W_gate) * (x W_up))."""
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x_BxTxD):
    cfg = self.cfg
    d, f, dt = cfg.embed_dim, cfg.mlp_dim, cfg.compute_dtype
    w_gate = _param(self, "w_gate", _init, (d, f), ("embed", "mlp"), cfg.weight_dtype)
    w_up = _param(self, "w_up", _init, (d, f), ("embed", "mlp"), cfg.weight_dtype)
    w_down = _param(self, "w_down", _init, (f, d), ("mlp", "embed"), cfg.weight_dtype)
    gate_BxTxF = lora_delta.project(self, "w_gate", "btd,df->btf", x_BxTxD, w_gate, dt)
    up_BxTxF = lora_delta.project(self, "w_up", "btd,df->btf", x_BxTxD, w_up, dt)
    hidden = nn.with_logical_constraint(nn.silu(gate_BxTxF) * up_BxTxF,
                                        ("batch", "act_length", "act_mlp"))
    return lora_delta.project(self, "w_down", "btf,fd->btd", hidden, w_down, dt)
