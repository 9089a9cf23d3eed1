"""The pretrained toy base that ships with the package (restem_jax/data/toy_base).

The toy card (configs/toy_arith.py) pretrains its base for ~8 minutes on 2 CPUs. The
package carries the result for the card's defaults (task.seed 0), made by
tools/make_toy_base.py, as a packed params dir (`checkpoint.packed_params`) whose manifest
records the recipe: the task, task.seed, the corpus fields and the sha256 of the generated
pretraining corpus, the run seed, the pretraining schedule and the model architecture.

`install` writes it into the run's base checkpoint dir (W/base) only when the run's recipe
equals the recorded one field by field. The toy corpus leaves out the expressions of the
evaluation splits of its own task.seed only, so a run with another task.seed (whose
validation and test problems the seed-0 corpus may hold) or other corpus fields never
gets this base: it pretrains as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any, Sequence

import jax
from absl import logging

from restem_jax import data as data_pkg
from restem_jax import io
from restem_jax.checkpoint import manager, model_checkpoint, model_spec, packed_params
from restem_jax.model.config import ModelConfig

TOY_BASE_DIR = os.path.join(os.path.dirname(os.path.abspath(data_pkg.__file__)), "toy_base")
# The manifest's score: greedy pass@1 on the first SCORE_PROBLEMS test problems of its seed.
SCORE_PROBLEMS = 64
SCORE_KEY = f"test_greedy_pass1_first{SCORE_PROBLEMS}"


def corpus_sha256(texts: Sequence[str]) -> str:
  """Fingerprint of a pretraining corpus (documents in order, NUL-separated)."""
  h = hashlib.sha256()
  for t in texts:
    h.update(t.encode("utf-8") + b"\0")
  return h.hexdigest()


def mismatch(recipe: dict[str, Any], model_cfg: ModelConfig,
             packed: packed_params.Packed) -> str | None:
  """Why `packed` is not the base this run would pretrain (None: it is)."""
  for name in sorted(set(recipe) | set(packed.recipe)):
    if recipe.get(name) != packed.recipe.get(name):
      return (f"{name}: the run's {recipe.get(name)!r}, the shipped base's "
              f"{packed.recipe.get(name)!r}")
  a, b = dataclasses.asdict(model_cfg), dataclasses.asdict(packed.model_config)
  for name in sorted(a):
    if name not in model_spec.RUNTIME_FIELDS and a[name] != b[name]:
      return f"model.{name}: the run's {a[name]!r}, the shipped base's {b[name]!r}"
  return None


def install(path: str, recipe: dict[str, Any], model_cfg: ModelConfig,
            source: str | None = None) -> dict[str, Any] | None:
  """Writes the shipped base into `path` as a model checkpoint when its recipe is this run's.

  Returns the checkpoint meta written (the shipped manifest's meta plus its source and
  hash), or None when `source` (default TOY_BASE_DIR) holds no packed base or one made
  with another recipe (the caller then pretrains). A recorded hash that disagrees with
  the params file raises.
  """
  source = source or TOY_BASE_DIR
  if not io.exists(io.join(source, packed_params.MANIFEST_FILE)):
    logging.info("no shipped base at %s", source)
    return None
  why = mismatch(recipe, model_cfg, packed_params.read_manifest(source))
  if why:
    logging.info("shipped base %s not used (made with another recipe: %s)", source, why)
    return None
  disk_params, packed = packed_params.read(source)
  meta = {**packed.meta, "shipped_base": source, "sha256": packed.sha256}
  manager.save_params(path, disk_params, meta=meta)  # every process: Orbax is collective
  if jax.process_index() == 0:
    model_checkpoint.write_model_config(path, model_cfg)
  logging.info("installed the shipped base %s into %s", source, path)
  return meta
