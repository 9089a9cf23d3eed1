"""8B-class memory: optimizer state sharded like the params (FSDP)."""

import jax
import numpy as np

from restem_jax.sharding import mesh as mesh_lib
from restem_jax.training import train_step
from restem_jax.training.optimizer import OptimizerConfig, make_optimizer
from tests.engine import toy


def _fsdp8_mesh():
  return mesh_lib.make_mesh(mesh_lib.MeshConfig(axis_sizes=(1, 8, 1)))


def _device0_bytes(x) -> int:
  return sum(s.data.nbytes for s in x.addressable_shards if s.device == jax.devices()[0])


def test_adam_state_is_sharded_like_params_under_fsdp():
  params = toy.init_params(_fsdp8_mesh())
  tx, _ = make_optimizer(OptimizerConfig())
  state = train_step.init_state(params, tx)
  adam = state.opt_state[1][0]  # chain(clip, adamw): adamw's ScaleByAdamState
  sharded = 0
  for name, moments in (("mu", adam.mu), ("nu", adam.nu)):
    for path, p in jax.tree_util.tree_leaves_with_path(params):
      m = _get(moments, path)
      assert m.sharding.is_equivalent_to(p.sharding, p.ndim), (name, path)
      assert _device0_bytes(m) == _device0_bytes(p), (name, path)
      sharded += _device0_bytes(p) < p.nbytes
  assert sharded >= 2 * 4  # really sharded: every matrix has an fsdp-split 'embed' axis
  total_moments = sum(_device0_bytes(x) for x in jax.tree.leaves((adam.mu, adam.nu)))
  total_params = sum(x.nbytes for x in jax.tree.leaves(params))
  assert total_moments < total_params / 2  # replicated Adam state would be 2x the params


def _get(tree, path):
  for k in path:
    tree = tree[k.key]
  return tree


def test_sharded_state_trains():
  """The train step keeps the optimizer state's FSDP sharding (donation, out_shardings)."""
  mesh = _fsdp8_mesh()
  tx, schedule = make_optimizer(OptimizerConfig(learning_rate=1e-2, warmup_steps=1))
  state = train_step.init_state(toy.init_params(mesh), tx)
  before = jax.tree.map(lambda x: x.sharding, state)
  step = train_step.make_train_step(toy.TOY, tx, schedule, mesh, toy.RULES, state)
  rng = np.random.default_rng(0)
  batch = {k: np.zeros((1, 8, 16), np.int32 if k in ("inputs", "targets", "segment_ids",
                                                        "positions") else np.float32)
           for k in train_step.BATCH_KEYS}
  batch["inputs"] = rng.integers(3, 100, (1, 8, 16)).astype(np.int32)
  batch["targets"] = rng.integers(3, 100, (1, 8, 16)).astype(np.int32)
  batch["segment_ids"][:] = 1
  batch["positions"][:] = np.arange(16)
  batch["loss_mask"][:] = 1.0
  batch["weights"][:] = 1.0
  state, m = step(state, {k: jax.device_put(v, step.batch_sharding[k]) for k, v in batch.items()})
  assert np.isfinite(float(m["loss"]))
  after = jax.tree.map(lambda x: x.sharding, state)
  jax.tree.map(lambda a, b: assert_equiv(a, b), before, after)


def assert_equiv(a, b):
  assert a == b or a.is_equivalent_to(b, 1), (a, b)
