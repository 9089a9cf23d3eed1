"""A compact, self-checking params file: one fp32 .safetensors plus a JSON manifest.

For small models that ship inside the package (the pretrained toy base,
restem_jax/data/toy_base). A packed directory DIR holds

    DIR/params.safetensors   the per-layer (on-disk layout) params, '/'-joined names
    DIR/manifest.json        {"model_config": ModelConfig fields, "recipe": how the params
                              were made, "meta": free-form facts, "sha256": of the params file}

    write(dir, disk_params, model_cfg, recipe=..., meta=...)
    read(dir) -> (disk_params, Packed)     # raises CheckpointError when the hash disagrees

The params are the `model_checkpoint` on-disk layout (per-layer `block_i`), so a caller
writes them into an Orbax checkpoint unchanged (`manager.save_params`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import numpy as np
from flax import traverse_util
from safetensors import numpy as st_numpy

from restem_jax import io
from restem_jax.checkpoint import model_checkpoint
from restem_jax.checkpoint.manager import CheckpointError
from restem_jax.model.config import ModelConfig

PARAMS_FILE = "params.safetensors"
MANIFEST_FILE = "manifest.json"


@dataclasses.dataclass(frozen=True)
class Packed:
  """The manifest of a packed directory."""
  model_config: ModelConfig
  recipe: dict[str, Any]  # the parameters the params were made with (compared by callers)
  meta: dict[str, Any]    # facts about the params (losses, timings); never compared
  sha256: str             # of PARAMS_FILE's bytes


def sha256_of(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


def write(directory: str, disk_params, model_cfg: ModelConfig, *, recipe: dict[str, Any],
          meta: dict[str, Any]) -> Packed:
  """Writes DIR/params.safetensors (fp32) and DIR/manifest.json; returns the manifest."""
  flat = traverse_util.flatten_dict(disk_params, sep="/")
  arrays = {k: np.ascontiguousarray(np.asarray(v, np.float32)) for k, v in sorted(flat.items())}
  data = st_numpy.save(arrays)
  packed = Packed(model_cfg, dict(recipe), dict(meta), sha256_of(data))
  io.makedirs(directory)
  io.write_bytes_atomic(io.join(directory, PARAMS_FILE), data)
  io.write_json_atomic(io.join(directory, MANIFEST_FILE), {
      "model_config": model_checkpoint.config_to_json(model_cfg), "recipe": packed.recipe,
      "meta": packed.meta, "sha256": packed.sha256}, indent=2)
  return packed


def read_manifest(directory: str) -> Packed:
  """DIR/manifest.json -> Packed; a CheckpointError naming the file when missing or corrupt."""
  path = io.join(directory, MANIFEST_FILE)
  if not io.exists(path):
    raise CheckpointError(f"{path} does not exist: {directory} is not a packed params dir.")
  try:
    values = io.read_json(path)
    return Packed(model_checkpoint.config_from_json(values["model_config"], path),
                  dict(values["recipe"]), dict(values["meta"]), str(values["sha256"]))
  except (json.JSONDecodeError, KeyError, TypeError) as e:
    raise CheckpointError(f"{path} is corrupt: {e!r}") from e


def read(directory: str):
  """(nested on-disk params as numpy fp32, Packed), after checking the params file's hash."""
  packed = read_manifest(directory)
  path = io.join(directory, PARAMS_FILE)
  data = io.read_bytes(path)
  digest = sha256_of(data)
  if digest != packed.sha256:
    raise CheckpointError(f"{path}: sha256 {digest} disagrees with {MANIFEST_FILE}'s "
                          f"{packed.sha256} (the file is corrupt or was replaced).")
  flat = st_numpy.load(data)
  return traverse_util.unflatten_dict(flat, sep="/"), packed
