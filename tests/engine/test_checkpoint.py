"""Checkpoint round trips, base-model restore and clear errors on bad checkpoints."""

import os

import jax
import numpy as np
import pytest

from restem_jax.checkpoint import manager
from restem_jax.training import train_step
from restem_jax.training.optimizer import OptimizerConfig, make_optimizer
from tests.engine import toy


def _equal(a, b):
  return all(jax.tree.leaves(jax.tree.map(lambda x, y: np.array_equal(x, y), a, b)))


def test_round_trip_is_bit_identical_with_optimizer_state(tmp_path):
  mesh = toy.one_device_mesh()
  params = toy.init_params(mesh, seed=3)
  tx, _ = make_optimizer(OptimizerConfig())
  state = train_step.init_state(params, tx)
  ckpt = manager.Checkpointer(str(tmp_path / "ckpt"), max_to_keep=2)
  for step in (1, 2, 3):
    ckpt.save(step, state.params, state.opt_state, meta={"data_position": step * 10})
  assert ckpt.all_steps() == [2, 3]  # keep-N
  like = toy.init_params(mesh, seed=4)
  p, o, meta = ckpt.restore(like, train_step.init_state(like, tx).opt_state)
  assert _equal(p, params) and not _equal(like, params)
  assert meta == {"data_position": 30}
  assert len(jax.tree.leaves(o)) == len(jax.tree.leaves(state.opt_state))


def test_restoring_base_after_fine_tuning_returns_base_params(tmp_path):
  mesh = toy.one_device_mesh()
  base = toy.init_params(mesh)
  manager.save_params(str(tmp_path / "base"), base)
  tuned = jax.tree.map(lambda x: x + 0.1, base)
  restored, _ = manager.restore_params(str(tmp_path / "base"), tuned)
  assert _equal(restored, base) and not _equal(restored, tuned)


def test_corrupt_checkpoint_error_names_the_path(tmp_path):
  mesh = toy.one_device_mesh()
  base = toy.init_params(mesh)
  path = str(tmp_path / "base")
  manager.save_params(path, base)
  for root, _, files in os.walk(path):
    for f in files:
      if "params" in root and not f.startswith("_"):
        with open(os.path.join(root, f), "wb") as fh:
          fh.write(b"garbage")
  with pytest.raises(manager.CheckpointError, match=str(tmp_path)):
    manager.restore_params(path, base)


def test_missing_checkpoint_error_names_the_path(tmp_path):
  base = toy.init_params(toy.one_device_mesh())
  with pytest.raises(manager.CheckpointError, match="does not exist"):
    manager.restore_params(str(tmp_path / "nope"), base)
  os.makedirs(tmp_path / "empty")
  with pytest.raises(manager.CheckpointError, match="no checkpoint found"):
    manager.restore_params(str(tmp_path / "empty"), base)
