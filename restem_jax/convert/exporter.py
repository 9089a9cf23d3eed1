"""Export: a restem checkpoint -> a Hugging Face model directory.

    HF_DIR/model.safetensors        weights (hf_convert.params_to_hf names and layouts)
    HF_DIR/config.json              hf_convert.config_to_hf(ModelConfig)
    HF_DIR/generation_config.json   the checkpoint's, else BOS/EOS/PAD from its tokenizer
    HF_DIR/tokenizer.json, ...      the checkpoint's tokenizer files

The params may be sharded over many devices: each leaf is gathered to the host only when
the converter reads it (`_HostLeaf`), never the whole tree at once.
"""

from __future__ import annotations

import json
import os
import shutil

import jax
import numpy as np
from jax.experimental import multihost_utils
from safetensors import numpy as st_numpy

from restem_jax.checkpoint import model_checkpoint
from restem_jax.model import hf_convert
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning

GENERATION_CONFIG = "generation_config.json"


def _gather(x) -> np.ndarray:
  """One (possibly sharded, possibly multi-host) array -> a host numpy array."""
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(jax.device_get(x))


class _HostLeaf:
  """A param leaf that is gathered to host memory when (and each time) it is read."""

  def __init__(self, x):
    self._x = x
    self.shape, self.dtype = tuple(x.shape), x.dtype

  def __array__(self, dtype=None, copy=None):  # pylint: disable=unused-argument
    a = _gather(self._x)
    return a if dtype is None else a.astype(dtype)


def _generation_config(tok_dir: str | None) -> dict:
  """The checkpoint's generation_config.json, else BOS/EOS/PAD ids from tokenizer_config."""
  if tok_dir and os.path.isfile(os.path.join(tok_dir, GENERATION_CONFIG)):
    with open(os.path.join(tok_dir, GENERATION_CONFIG)) as f:
      return json.load(f)
  gen = {"_from_model_config": True}
  if tok_dir and os.path.isfile(os.path.join(tok_dir, "tokenizer.json")):
    from transformers import AutoTokenizer  # pylint: disable=import-outside-toplevel
    tok = AutoTokenizer.from_pretrained(tok_dir)
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
      if getattr(tok, key, None) is not None:
        gen[key] = int(getattr(tok, key))
  return gen


def write_hf(out: str, cfg: ModelConfig, params, tokenizer_dir: str | None) -> list[str]:
  """Writes HF_DIR from (possibly sharded) params; returns the file names written."""
  # Every process converts (multi-host gathers are collectives, taken in the same order);
  # process 0 writes.
  tensors = hf_convert.params_to_hf(cfg, jax.tree.map(_HostLeaf, params))
  if jax.process_index() != 0:
    return []
  os.makedirs(out, exist_ok=True)
  torch_dtype = str(next(iter(tensors.values())).dtype)
  with open(os.path.join(out, hf_convert.CONFIG_FILE), "w") as f:
    json.dump(hf_convert.config_to_hf(cfg, torch_dtype=torch_dtype), f, indent=2)
  st_numpy.save_file(tensors, os.path.join(out, hf_convert.WEIGHTS_FILE),
                     metadata={"format": "pt"})
  del tensors
  if tokenizer_dir:
    for name in sorted(os.listdir(tokenizer_dir)):
      shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(out, name))
  with open(os.path.join(out, GENERATION_CONFIG), "w") as f:
    json.dump(_generation_config(tokenizer_dir), f, indent=2)
  return sorted(os.listdir(out))


def export_model(checkpoint: str, out: str) -> list[str]:
  """restem checkpoint dir -> HF_DIR; params restored over all local devices."""
  cfg = model_checkpoint.read_model_config(checkpoint)
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
  params, _ = model_checkpoint.restore(checkpoint, cfg, mesh, partitioning.DEFAULT_RULES)
  return write_hf(out, cfg, params, model_checkpoint.tokenizer_dir(checkpoint))
