"""Behavioural tests of packing, the reward-weighted loss and the SPMD train step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.model import interface
from restem_jax.training import loss as loss_lib
from restem_jax.training import packing, train_step
from restem_jax.training.optimizer import OptimizerConfig, make_optimizer
from tests.engine import toy


def _examples(rng, n=5):
  out = []
  for i in range(n):
    p = rng.integers(3, 60, size=rng.integers(2, 9)).astype(np.int32)
    t = rng.integers(3, 60, size=rng.integers(3, 12)).astype(np.int32)
    out.append(packing.Example(p, t, weight=float(i % 3) * 0.5 + 0.5))
  return out


def _sums(params, batch):
  b = {k: jnp.asarray(v) for k, v in batch.as_dict().items()}
  return loss_lib.weighted_nll_sums(toy.TOY, params, b)


def test_packed_loss_equals_sum_of_unpacked_losses():
  params = toy.init_params(toy.one_device_mesh())
  exs = _examples(np.random.default_rng(0))
  packed = packing.pack(exs, seq_len=48)
  assert packed.num_rows < len(exs)  # really packed several examples per row
  loss_packed, ntok_packed = _sums(params, packed)
  singles = [_sums(params, packing.pack([e], seq_len=48)) for e in exs]
  np.testing.assert_allclose(loss_packed, sum(s[0] for s in singles), rtol=1e-5)
  assert ntok_packed == sum(len(e.target) for e in exs)


def test_loss_mask_covers_targets_only():
  ex = packing.Example(np.array([5, 6, 7], np.int32), np.array([8, 9], np.int32), weight=2.0)
  b = packing.pack([ex], seq_len=8)
  # inputs 5 6 7 8 -> targets 6 7 8 9; only targets 8 and 9 are target tokens.
  np.testing.assert_array_equal(b.targets[0, :4], [6, 7, 8, 9])
  np.testing.assert_array_equal(b.loss_mask[0], [0, 0, 1, 1, 0, 0, 0, 0])
  np.testing.assert_array_equal(b.weights[0], [0, 0, 2, 2, 0, 0, 0, 0])


def _seg2_loss_grad_on_seg1_rows(params, segment_ids):
  seg1 = np.array([10, 11, 12, 13], np.int32)
  seg2 = np.array([20, 21, 22, 23, 24], np.int32)
  inputs = np.concatenate([seg1, seg2])[None]
  targets = np.concatenate([seg1 + 1, seg2 + 1])[None]
  mask = np.concatenate([np.zeros(4), np.ones(5)])[None].astype(np.float32)
  batch = {"inputs": jnp.asarray(inputs), "targets": jnp.asarray(targets),
           "segment_ids": jnp.asarray(segment_ids), "positions": None,
           "weights": jnp.asarray(mask), "loss_mask": jnp.asarray(mask)}
  grads = jax.grad(lambda p: loss_lib.weighted_nll_sums(toy.TOY, p, batch)[0])(params)
  return np.abs(np.asarray(grads["embedding"])[seg1]).max()


def test_no_attention_across_segments_gradient():
  params = toy.init_params(toy.one_device_mesh())
  packed = np.array([[1] * 4 + [2] * 5], np.int32)
  one_segment = np.ones((1, 9), np.int32)
  assert _seg2_loss_grad_on_seg1_rows(params, packed) == 0.0
  # Control: the same tokens as one segment do leak gradient into segment-1 rows.
  assert _seg2_loss_grad_on_seg1_rows(params, one_segment) > 1e-6


def _run_steps(mesh, batch, n=2):
  params = toy.init_params(mesh)
  tx, schedule = make_optimizer(OptimizerConfig(learning_rate=1e-2, warmup_steps=1))
  state = train_step.init_state(params, tx)
  step = train_step.make_train_step(toy.TOY, tx, schedule, mesh, toy.RULES, state)
  metrics = []
  for _ in range(n):
    placed = {k: jax.device_put(v, step.batch_sharding[k]) for k, v in batch.items()}
    state, m = step(state, placed)
    metrics.append(jax.device_get(m))
  return jax.device_get(state.params), metrics


def _batch(accum=2, rows=8):
  exs = _examples(np.random.default_rng(1), n=40)
  b = packing.pad_to_multiple(packing.pack(exs, seq_len=32), accum * rows)
  return {k: v[:accum * rows].reshape(accum, rows, -1) for k, v in b.as_dict().items()}


def test_sharded_train_step_equals_one_device():
  batch = _batch()
  p1, m1 = _run_steps(toy.one_device_mesh(), batch)
  p8, m8 = _run_steps(toy.eight_device_mesh(), batch)
  for a, b in zip(m1, m8):
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5)
    np.testing.assert_allclose(a["grad_norm"], b["grad_norm"], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5), p1, p8)
  assert m1[1]["loss"] < m1[0]["loss"]


def test_sharded_forward_equals_one_device():
  tokens = jnp.asarray(np.random.default_rng(2).integers(3, 100, (8, 24)), jnp.int32)
  seg = jnp.ones_like(tokens)
  one = interface.logits_fn(toy.TOY, toy.init_params(toy.one_device_mesh()), tokens, seg)
  mesh8 = toy.eight_device_mesh()
  from restem_jax.sharding import partitioning  # pylint: disable=g-import-not-at-top
  with partitioning.activation_sharding(mesh8, toy.RULES):
    eight = jax.jit(lambda p, t, s: interface.logits_fn(toy.TOY, p, t, s))(
        toy.init_params(mesh8), tokens, seg)
  assert len(eight.sharding.device_set) == 8
  np.testing.assert_allclose(one, eight, atol=1e-5)


def test_gradient_accumulation_is_exact():
  """A=2 micro-batches of 8 rows give the same update as A=1 with 16 rows."""
  b2 = _batch(accum=2, rows=8)
  b1 = {k: v.reshape(1, 16, -1) for k, v in b2.items()}
  mesh = toy.one_device_mesh()
  p2, m2 = _run_steps(mesh, b2, n=1)
  p1, m1 = _run_steps(mesh, b1, n=1)
  np.testing.assert_allclose(m1[0]["loss"], m2[0]["loss"], rtol=1e-6)
  # Adam turns fp32 summation-order noise in near-zero grads into ~1e-6 moves;
  # a wrong normalisation moves params by ~lr = 1e-2.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), p1, p2)


def test_target_that_cannot_fit_is_a_clear_error():
  with pytest.raises(ValueError, match="seq_len"):
    packing.pack([packing.Example(np.ones(3, np.int32), np.ones(40, np.int32))], seq_len=16)
