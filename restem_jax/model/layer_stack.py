"""How the decoder blocks are laid out: one module per layer, or one scanned module.

Two strategies, chosen by `ModelConfig.scan_layers` (a runtime field: it changes how the
weights are computed with, not what they mean):

  Unrolled  params `block_0 ... block_{L-1}`, each one block's tree; KV cache a list of
            L {'k', 'v'} dicts of BxKxSxE. A Python loop: XLA compiles L copies of the
            block (compile time and program size grow with L).
  Scanned   params `blocks`, the same tree with every leaf stacked on a leading axis of
            size L (logical axis 'layers', never sharded); KV cache one {'k', 'v'} dict of
            LxBxKxSxE. `nn.scan` over one block (with `nn.remat` inside when cfg.remat):
            XLA compiles the block once.

Checkpoints on disk are always per-layer (the Unrolled tree): `to_disk` / `from_disk`
convert at the save / restore boundary, so HF/GGUF import and export, existing
checkpoints and their shape errors (naming `block_3/attn/wq`) do not depend on the layout.
Cache leaves of both layouts end in [B, K, S, E]; `restem_jax.model.kv_cache` works on
them through negative axes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from restem_jax.model.config import ModelConfig

LAYERS_AXIS = "layers"  # logical name of the stacked leading axis
STACKED = "blocks"      # the Scanned layout's params key


def block_name(i: int) -> str:
  return f"block_{i}"


def _cache_leaves(shape, dtype):
  return {"k": jnp.zeros(shape, dtype), "v": jnp.zeros(shape, dtype)}


class Unrolled:
  """One Flax module per layer (`block_i`), a Python loop over them."""

  def apply(self, cfg: ModelConfig, block_cls, x, positions, mask, cache, cache_index):
    """Runs the blocks inside the calling module's compact scope -> (x, new cache or None)."""
    if cfg.remat:
      block_cls = nn.remat(block_cls, static_argnums=())
    new_cache = []
    for i in range(cfg.num_layers):
      x, layer_cache = block_cls(cfg, name=block_name(i))(
          x, positions, mask, None if cache is None else cache[i], cache_index)
      new_cache.append(layer_cache)
    return x, (new_cache if cache is not None else None)

  def init_cache(self, cfg: ModelConfig, batch: int, length: int, dtype):
    shape = (batch, cfg.num_kv_heads, length, cfg.head_dim)
    return [_cache_leaves(shape, dtype) for _ in range(cfg.num_layers)]

  def zip_levels(self, cfg: ModelConfig, levels: dict):
    """{level: cache} (each in this layout) -> one cache whose layer i is {level: layer i}."""
    return [{name: c[i] for name, c in levels.items()} for i in range(cfg.num_layers)]

  def to_disk(self, cfg: ModelConfig, params):
    del cfg
    return params

  def from_disk(self, cfg: ModelConfig, params, target):
    del cfg, target
    return params


class Scanned:
  """One Flax module scanned over a stacked leading 'layers' axis (`blocks`)."""

  def apply(self, cfg: ModelConfig, block_cls, x, positions, mask, cache, cache_index):
    if cfg.remat:  # inside the scan: one layer's activations are recomputed at a time
      block_cls = nn.remat(block_cls, prevent_cse=False)
    cache_axes = 0 if cache is not None else nn.broadcast
    # "lora"/"lora_dropout": the adapters and their dropout rates (`lora_delta`), per layer.
    stack = nn.scan(block_cls, variable_axes={"params": 0, "lora": 0, "lora_dropout": 0},
                    split_rngs={"params": True, "lora_dropout": True},
                    in_axes=(nn.broadcast, nn.broadcast, cache_axes, nn.broadcast),
                    length=cfg.num_layers, metadata_params={nn.PARTITION_NAME: LAYERS_AXIS})
    return stack(cfg, name=STACKED)(x, positions, mask, cache, cache_index)

  def init_cache(self, cfg: ModelConfig, batch: int, length: int, dtype):
    return _cache_leaves((cfg.num_layers, batch, cfg.num_kv_heads, length, cfg.head_dim), dtype)

  def zip_levels(self, cfg: ModelConfig, levels: dict):
    del cfg
    return dict(levels)  # every leaf already stacked on the leading layers axis

  def to_disk(self, cfg: ModelConfig, params):
    """Stacked -> per-layer tree (numpy or jax leaves). The slices are copies: saving holds
    the params twice (once stacked, once per layer) until the save returns."""
    out = {k: v for k, v in params.items() if k != STACKED}
    for i in range(cfg.num_layers):
      out[block_name(i)] = jax.tree.map(lambda x, i=i: x[i], params[STACKED])
    return out

  def from_disk(self, cfg: ModelConfig, params, target):
    """Per-layer tree -> stacked, placed like `target` (the Scanned abstract params).

    Consumes `params` (its `block_i` entries are popped): the per-layer arrays are dropped
    as each parameter kind is stacked, so the transient extra memory is about one kind's
    stacked copy, not the whole model's."""
    layers = [params.pop(block_name(i)) for i in range(cfg.num_layers)]
    treedef = jax.tree.structure(layers[0])
    leaves = [jax.tree.leaves(layer) for layer in layers]  # L lists, same leaf order
    del layers
    stacked = []
    for j, want in enumerate(jax.tree.leaves(target[STACKED])):
      parts = [layer_leaves[j] for layer_leaves in leaves]
      for layer_leaves in leaves:
        layer_leaves[j] = None  # the per-layer array goes once stacked
      stacked.append(_stack(parts, want))
      del parts
    params[STACKED] = jax.tree.unflatten(treedef, stacked)
    return params


def _stack(parts, want):
  sharding = getattr(want, "sharding", None)
  if sharding is None:
    return jnp.stack(parts).astype(want.dtype)
  return jax.jit(lambda *xs: jnp.stack(xs).astype(want.dtype), out_shardings=sharding)(*parts)


_LAYOUTS: dict[bool, Any] = {False: Unrolled(), True: Scanned()}


def disk_config(cfg: ModelConfig) -> ModelConfig:
  """The config whose params tree is the on-disk (per-layer) layout."""
  return dataclasses.replace(cfg, scan_layers=False)


def of(cfg: ModelConfig):
  """The layout strategy `cfg.scan_layers` selects."""
  return _LAYOUTS[bool(cfg.scan_layers)]
