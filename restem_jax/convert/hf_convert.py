"""Hugging Face checkpoints (Llama, Mistral, Qwen2, Qwen3 families) <-> restem_jax params.

The path by which real open models come in, and by which a ReST-EM result goes back
to serving stacks:

    load_hf_checkpoint(dir) -> (ModelConfig, params)   # config.json + *.safetensors
    save_hf_checkpoint(dir, cfg, params)                # config.json + safetensors shards

Which architectures and features are accepted (and what is refused, before any
weight is read) is `restem_jax.convert.hf_arch`; the tensor-name table is
`restem_jax.convert.hf_names`. Tensors are converted one leaf at a time in both
directions: export gathers one (possibly device-sharded) leaf to the host, converts
it and writes it into a shard of at most `max_shard_bytes`, so host memory holds
one shard, never a second copy of the whole model. Tensors the model would not use
are refused, never silently dropped. Only numpy, ml_dtypes and `safetensors.numpy`
are needed at import time (no torch). Params here are in the per-layer (`block_i`,
on-disk) layout; `place_params` stacks them for a `scan_layers` model.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Mapping

import ml_dtypes
import numpy as np
from safetensors import numpy as st_numpy

from restem_jax.convert import hf_names
from restem_jax.model.config import ModelConfig
from restem_jax.convert.hf_arch import UnsupportedCheckpointError, config_from_hf, config_to_hf

__all__ = ["UnsupportedCheckpointError", "config_from_hf", "config_to_hf", "load_hf_checkpoint",
           "save_hf_checkpoint", "hf_to_params", "params_to_hf", "iter_hf_tensors",
           "place_params"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"

_NP_DTYPES = {"float32": np.float32, "bfloat16": ml_dtypes.bfloat16, "float16": np.float16}
# Keys that older checkpoints carry but that hold no learned weights.
_IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


# ----------------------------------------------------------------------------- tensors


def _read_tensors(path: str) -> dict[str, np.ndarray]:
  """All tensors of a single-file or index-sharded safetensors checkpoint."""
  index = os.path.join(path, INDEX_FILE)
  if os.path.exists(index):
    with open(index) as f:
      files = sorted(set(json.load(f)["weight_map"].values()))
  elif os.path.exists(os.path.join(path, WEIGHTS_FILE)):
    files = [WEIGHTS_FILE]
  else:
    raise FileNotFoundError(f"{path}: neither {WEIGHTS_FILE} nor {INDEX_FILE} found "
                            "(pytorch_model.bin checkpoints are not read; convert to safetensors).")
  tensors: dict[str, np.ndarray] = {}
  for name in files:
    tensors.update(st_numpy.load_file(os.path.join(path, name)))
  return tensors


def hf_to_params(cfg: ModelConfig, tensors: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """HF state dict (numpy; any Mapping, read one key at a time) -> restem_jax params pytree
  (numpy, cfg.param_dtype)."""
  names = {k.removeprefix("model."): k for k in tensors if not k.endswith(_IGNORED_SUFFIXES)}
  if not cfg.qkv_bias:
    biases = sorted(k for k in names if k.endswith(".bias"))
    if biases:
      raise UnsupportedCheckpointError(
          f"checkpoint has bias tensors ({biases[:3]}...) but its config declares none "
          "(qkv_bias=False); restem_jax would have to drop them.")
  dt = _NP_DTYPES[cfg.param_dtype]
  used: set[str] = set()
  params: dict[str, Any] = {}
  for leaf in hf_names.leaves(cfg):
    name = leaf.hf_name.removeprefix("model.")
    if name not in names:
      raise KeyError(f"HF checkpoint lacks tensor {leaf.hf_name!r}.")
    x = tensors[names[name]]
    if tuple(x.shape) != leaf.hf_shape:
      raise ValueError(f"HF tensor {leaf.hf_name!r} has shape {tuple(x.shape)}, config implies "
                       f"{leaf.hf_shape}.")
    used.add(name)
    ours = leaf.to_ours(np.asarray(x).astype(dt))
    hf_names.set_path(params, leaf.path, np.ascontiguousarray(ours))
  if cfg.tie_embeddings and "lm_head.weight" in names:
    # Some tied checkpoints store the head anyway; it must equal the embedding.
    if not np.array_equal(tensors[names["lm_head.weight"]], tensors[names["embed_tokens.weight"]]):
      raise UnsupportedCheckpointError(
          "tie_word_embeddings=True but lm_head.weight differs from embed_tokens.weight.")
    used.add("lm_head.weight")
  unused = sorted(set(names) - used)
  if unused:
    raise UnsupportedCheckpointError(
        f"checkpoint has tensors restem_jax would drop: {unused[:5]} ({len(unused)} in all).")
  return params


def _to_host(x) -> np.ndarray:
  """One leaf to host memory; a leaf sharded over other hosts' devices is all-gathered."""
  import jax  # pylint: disable=import-outside-toplevel
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    x = multihost_utils.process_allgather(x, tiled=True)
  return np.asarray(x)


def iter_hf_tensors(cfg: ModelConfig, params) -> Iterator[tuple[str, np.ndarray]]:
  """(HF name, numpy tensor) one leaf at a time, in `hf_names.leaves` order (dtype kept)."""
  for leaf in hf_names.leaves(cfg):
    yield leaf.hf_name, np.ascontiguousarray(leaf.to_hf(_to_host(hf_names.get_path(params,
                                                                                    leaf.path))))


def params_to_hf(cfg: ModelConfig, params) -> dict[str, np.ndarray]:
  """restem_jax params pytree -> the whole HF state dict (numpy, C-contiguous, dtype kept).
  Holds every tensor at once: `save_hf_checkpoint` streams instead."""
  return dict(iter_hf_tensors(cfg, params))


# ----------------------------------------------------------------------------- files


def load_hf_checkpoint(path: str, *, dtype: str = "float32",
                       param_dtype: str = "float32") -> tuple[ModelConfig, dict[str, Any]]:
  """Reads `path/config.json` and its safetensors into (ModelConfig, numpy params).

  Args:
    path: a directory as written by `save_pretrained` (single or index-sharded safetensors).
    dtype, param_dtype: ModelConfig compute and storage dtypes; weights are cast to
      `param_dtype` (fp32 by default, so a bf16 checkpoint is read exactly).
  Returns:
    (cfg, params): params is a plain pytree of numpy arrays; place it on a mesh with
    `place_params` (or `jax.device_put`).
  """
  with open(os.path.join(path, CONFIG_FILE)) as f:
    cfg = config_from_hf(json.load(f), dtype=dtype, param_dtype=param_dtype)
  return cfg, hf_to_params(cfg, _read_tensors(path))


def _shard_plan(cfg: ModelConfig, params, max_shard_bytes: int) -> list[list[str]]:
  """HF names grouped into shards of at most max_shard_bytes (from shapes, no data read)."""
  shards: list[list[str]] = [[]]
  size = 0
  for leaf in hf_names.leaves(cfg):
    x = hf_names.get_path(params, leaf.path)
    nbytes = int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize
    if shards[-1] and size + nbytes > max_shard_bytes:
      shards.append([])
      size = 0
    shards[-1].append(leaf.hf_name)
    size += nbytes
  return shards


def save_hf_checkpoint(path: str, cfg: ModelConfig, params, *,
                       max_shard_bytes: int = 2 * 1024**3) -> None:
  """Writes `path/config.json` and safetensors (one file, or shards + index when larger than
  `max_shard_bytes`) loadable by transformers' `AutoModelForCausalLM`.

  params may be numpy or jax arrays sharded over any devices; leaves are gathered and
  converted one at a time and only the current shard is held in host memory. Every
  process of a multi-host job must call this (the gathers are collective); process 0 writes.
  """
  import jax  # pylint: disable=import-outside-toplevel
  writer = jax.process_index() == 0
  if writer:
    os.makedirs(path, exist_ok=True)
  plan = _shard_plan(cfg, params, max_shard_bytes)
  files = ([WEIGHTS_FILE] if len(plan) == 1 else
           [f"model-{i + 1:05d}-of-{len(plan):05d}.safetensors" for i in range(len(plan))])
  tensors = iter_hf_tensors(cfg, params)
  weight_map, total, dtype = {}, 0, None
  for fname, names in zip(files, plan):
    shard = dict(next(tensors) for _ in names)
    dtype = dtype or str(next(iter(shard.values())).dtype)
    total += sum(t.nbytes for t in shard.values())
    weight_map.update({n: fname for n in shard})
    if writer:
      st_numpy.save_file(shard, os.path.join(path, fname), metadata={"format": "pt"})
    del shard
  if not writer:
    return
  if len(files) > 1:
    with open(os.path.join(path, INDEX_FILE), "w") as f:
      json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
  with open(os.path.join(path, CONFIG_FILE), "w") as f:
    json.dump(config_to_hf(cfg, torch_dtype=dtype), f, indent=2)


def place_params(cfg: ModelConfig, params, mesh, rules):
  """Device-puts numpy (per-layer) params with the shardings `init_sharded` would give them,
  stacked when `cfg.scan_layers` (`layer_stack`)."""
  import jax  # pylint: disable=import-outside-toplevel
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  from restem_jax.model import interface, layer_stack  # pylint: disable=import-outside-toplevel
  from restem_jax.sharding import partitioning  # pylint: disable=import-outside-toplevel

  def abstract(c):
    boxed = jax.eval_shape(lambda k: interface.init_boxed(c, k), jax.random.key(0))
    shardings = partitioning.logical_to_shardings(nn.get_partition_spec(boxed), mesh, rules)
    return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                        nn.meta.unbox(boxed), shardings)

  placed = jax.tree.map(lambda x, a: jax.device_put(x, a.sharding), params,
                        abstract(layer_stack.disk_config(cfg)))
  return layer_stack.of(cfg).from_disk(cfg, placed, abstract(cfg))
