"""One table mapping every restem_jax param leaf to its Hugging Face tensor (both ways).

HF `nn.Linear` weights are [out, in]; ours are [in, ...out]:

    model.embed_tokens.weight [V, D]              <-> embedding [V, D]
    layers.i.self_attn.q_proj.weight [H*E, D]     <-> block_i/attn/wq [D, H, E]
    layers.i.self_attn.{k,v}_proj.weight [K*E, D] <-> block_i/attn/{wk,wv} [D, K, E]
    layers.i.self_attn.{q,k,v}_proj.bias [N*E]    <-> block_i/attn/{bq,bk,bv} [N, E]  (qkv_bias)
    layers.i.self_attn.{q,k}_norm.weight [E]      <-> block_i/attn/{q,k}_norm/scale   (qk_norm)
    layers.i.self_attn.o_proj.weight [D, H*E]     <-> block_i/attn/wo [H, E, D]
    layers.i.mlp.{gate,up}_proj.weight [F, D]     <-> block_i/mlp/{w_gate,w_up} [D, F]
    layers.i.mlp.down_proj.weight [D, F]          <-> block_i/mlp/w_down [F, D]
    layers.i.input_layernorm.weight [D]           <-> block_i/attn_norm/scale
    layers.i.post_attention_layernorm.weight [D]  <-> block_i/mlp_norm/scale
    model.norm.weight [D]                         <-> final_norm/scale
    lm_head.weight [V, D] (absent when tied)      <-> lm_head [D, V]

HF stores q_proj/k_proj in the rotate-half RoPE layout our model uses (the
permutation from Meta's interleaved layout happens in HF's own conversion
script), so no q/k permutation is applied. Converters that build on this (GGUF,
shard streaming) iterate `leaves(cfg)` and call `to_ours` / `to_hf` one leaf at a time.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from restem_jax.model.config import ModelConfig


@dataclasses.dataclass(frozen=True)
class Leaf:
  hf_name: str                 # full HF name ('model.' prefix included where HF has it)
  path: tuple[str, ...]        # key path in our params tree
  hf_shape: tuple[int, ...]
  to_ours: Callable[[np.ndarray], np.ndarray]
  to_hf: Callable[[np.ndarray], np.ndarray]


def _same(x):
  return x


def _transpose(x):
  return x.T


def _in_proj(d, n, e):
  """HF [N*E, D] <-> ours [D, N, E]."""
  return (lambda x: x.T.reshape(d, n, e)), (lambda x: x.reshape(d, n * e).T)


def _bias(n, e):
  return (lambda x: x.reshape(n, e)), (lambda x: x.reshape(n * e))


def _attention(cfg: ModelConfig, p: str, blk: tuple[str, ...]) -> list[Leaf]:
  d, h, k, e = cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
  a = p + "self_attn."
  out = []
  for name, n in (("q", h), ("k", k), ("v", k)):
    out.append(Leaf(f"{a}{name}_proj.weight", blk + ("attn", "w" + name), (n * e, d),
                    *_in_proj(d, n, e)))
    if cfg.qkv_bias:
      out.append(Leaf(f"{a}{name}_proj.bias", blk + ("attn", "b" + name), (n * e,), *_bias(n, e)))
  out.append(Leaf(a + "o_proj.weight", blk + ("attn", "wo"), (d, h * e),
                  lambda x: x.T.reshape(h, e, d), lambda x: x.reshape(h * e, d).T))
  if cfg.qk_norm:
    for name in ("q", "k"):
      out.append(Leaf(f"{a}{name}_norm.weight", blk + ("attn", f"{name}_norm", "scale"), (e,),
                      _same, _same))
  return out


def leaves(cfg: ModelConfig) -> list[Leaf]:
  """Every param leaf of `cfg`'s model with its HF name, HF shape and converters."""
  d, f, v = cfg.embed_dim, cfg.mlp_dim, cfg.vocab_size
  out = [Leaf("model.embed_tokens.weight", ("embedding",), (v, d), _same, _same)]
  for i in range(cfg.num_layers):
    p, blk = f"model.layers.{i}.", (f"block_{i}",)
    out += _attention(cfg, p, blk)
    out += [
        Leaf(p + "mlp.gate_proj.weight", blk + ("mlp", "w_gate"), (f, d), _transpose, _transpose),
        Leaf(p + "mlp.up_proj.weight", blk + ("mlp", "w_up"), (f, d), _transpose, _transpose),
        Leaf(p + "mlp.down_proj.weight", blk + ("mlp", "w_down"), (d, f), _transpose, _transpose),
        Leaf(p + "input_layernorm.weight", blk + ("attn_norm", "scale"), (d,), _same, _same),
        Leaf(p + "post_attention_layernorm.weight", blk + ("mlp_norm", "scale"), (d,), _same,
             _same),
    ]
  out.append(Leaf("model.norm.weight", ("final_norm", "scale"), (d,), _same, _same))
  if not cfg.tie_embeddings:
    out.append(Leaf("lm_head.weight", ("lm_head",), (v, d), _transpose, _transpose))
  return out


def get_path(tree, path: tuple[str, ...]):
  for key in path:
    tree = tree[key]
  return tree


def set_path(tree: dict, path: tuple[str, ...], value) -> None:
  for key in path[:-1]:
    tree = tree.setdefault(key, {})
  tree[path[-1]] = value
