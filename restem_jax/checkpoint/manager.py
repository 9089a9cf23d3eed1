"""Orbax checkpoints (current `CheckpointManager` + `args` API).

Items: 'params', 'opt_state' (optional) and 'meta' (JSON: data position, anything
the caller needs to resume). The base model is a params-only checkpoint that the
M-step restores at every iteration. Resume order for a training run:
  1. build the abstract state (shapes + shardings) from the config;
  2. restore params, optimizer state and step from the latest checkpoint;
  3. restore the data position from 'meta' and skip the batches already seen.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from restem_jax import io
from restem_jax.checkpoint import staging


class CheckpointError(RuntimeError):
  """A checkpoint is missing, unreadable or mismatched; the message names the path."""


def _abstract(tree):
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)


def _leaf_shapes(tree) -> dict[str, tuple]:
  """{'block_0/attn/wq': shape, ...} for a pytree of arrays / metadata with `.shape`."""
  flat, _ = jax.tree_util.tree_flatten_with_path(tree)
  return {"/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path): tuple(x.shape)
          for path, x in flat}


def check_shapes(stored, target, where: str) -> None:
  """Raises CheckpointError naming every param whose stored and expected shapes differ."""
  have, want = _leaf_shapes(stored), _leaf_shapes(target)
  problems = [f"{k}: checkpoint {have[k]} vs expected {want[k]}"
              for k in sorted(set(have) & set(want)) if have[k] != want[k]]
  problems += [f"{k}: expected {want[k]}, absent from the checkpoint"
               for k in sorted(set(want) - set(have))]
  problems += [f"{k}: in the checkpoint {have[k]}, not expected by the model"
               for k in sorted(set(have) - set(want))]
  if problems:
    raise CheckpointError(
        f"{where} does not match the model config ({len(problems)} parameter(s)): "
        + "; ".join(problems[:8]) + (" ..." if len(problems) > 8 else ""))


class Checkpointer:
  """Thin wrapper over `ocp.CheckpointManager` with keep-N and clear errors."""

  def __init__(self, directory: str, max_to_keep: int | None = 3):
    directory = os.fspath(directory)
    self.directory = os.path.abspath(directory) if io.is_local(directory) else directory
    # Orbax writes local and gs:// directories itself; other schemes go through a local copy.
    self._stage = staging.Staging.for_directory(self.directory)
    self._mngr = ocp.CheckpointManager(
        self._stage.local_dir if self._stage else self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        item_handlers={"params": ocp.StandardCheckpointHandler(),
                       "opt_state": ocp.StandardCheckpointHandler(),
                       "meta": ocp.JsonCheckpointHandler()})

  def save(self, step: int, params, opt_state=None, meta: dict[str, Any] | None = None) -> None:
    items = {"params": ocp.args.StandardSave(params),
             "meta": ocp.args.JsonSave(dict(meta or {}))}
    if opt_state is not None:
      items["opt_state"] = ocp.args.StandardSave(opt_state)
    self._mngr.save(step, args=ocp.args.Composite(**items))
    self._mngr.wait_until_finished()
    if self._stage:
      self._stage.push()

  def latest_step(self) -> int | None:
    return self._mngr.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._mngr.all_steps())

  def restore(self, like_params, like_opt_state=None, step: int | None = None):
    """Restores (params, opt_state or None, meta) with the shardings of `like_*`."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise CheckpointError(f"no checkpoint found in {self.directory}")
    self._check_params_shapes(step, like_params)
    items = {"params": ocp.args.StandardRestore(_abstract(like_params)),
             "meta": ocp.args.JsonRestore()}
    if like_opt_state is not None:
      items["opt_state"] = ocp.args.StandardRestore(_abstract(like_opt_state))
    try:
      out = self._mngr.restore(step, args=ocp.args.Composite(**items))
    except Exception as e:  # orbax raises many types; all mean "unreadable here"
      raise CheckpointError(
          f"checkpoint step {step} in {self.directory} is missing or corrupt: "
          f"{type(e).__name__}: {e}") from e
    return out["params"], out.get("opt_state") if like_opt_state is not None else None, out["meta"]

  def _check_params_shapes(self, step: int, like_params) -> None:
    """Compares stored param shapes with the targets' before reading any array.

    (Optimizer states are namedtuples that Orbax's metadata stores as lists; a params
    mismatch is what a wrong config produces, and it shows first.)
    """
    try:
      stored = self._mngr.item_metadata(step)
    except Exception as e:  # pylint: disable=broad-except
      raise CheckpointError(f"checkpoint step {step} in {self.directory} is missing or corrupt "
                            f"(metadata unreadable): {type(e).__name__}: {e}") from e
    tree = stored.get("params") if stored is not None else None
    if tree is None:
      raise CheckpointError(f"checkpoint step {step} in {self.directory} has no params item "
                            "(missing or corrupt).")
    check_shapes(getattr(tree, "tree", tree), like_params,
                 f"params of checkpoint step {step} in {self.directory}")

  def close(self) -> None:
    self._mngr.close()
    if self._stage:
      self._stage.cleanup()


def save_params(directory: str, params, meta: dict[str, Any] | None = None, step: int = 0):
  """Writes a params-only checkpoint (e.g. the base model)."""
  ckpt = Checkpointer(directory, max_to_keep=1)
  ckpt.save(step, params, meta=meta)
  ckpt.close()


def has_checkpoint(directory: str) -> bool:
  """True when `directory` holds at least one finished checkpoint step."""
  if not io.isdir(directory):
    return False
  ckpt = Checkpointer(directory, max_to_keep=None)
  try:
    return ckpt.latest_step() is not None
  finally:
    ckpt.close()


def restore_params(directory: str, like_params):
  """Restores the latest params from `directory` (shardings taken from `like_params`)."""
  if not io.isdir(directory):
    raise CheckpointError(f"checkpoint directory {directory} does not exist")
  ckpt = Checkpointer(directory, max_to_keep=None)
  try:
    params, _, meta = ckpt.restore(like_params)
  finally:
    ckpt.close()
  return params, meta
