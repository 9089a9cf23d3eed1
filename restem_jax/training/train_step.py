"""The pure SPMD train step: gradient accumulation, clipping, AdamW, metrics.

`make_train_step` returns a function jitted with explicit in/out shardings and the
state donated. A batch is a dict of [A, R, T] arrays: A micro-batches of R packed
rows, accumulated with `lax.scan` and normalised once by the total number of
target tokens, so accumulation is exact (not an average of per-micro means).
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from restem_jax.model.config import ModelConfig
from restem_jax.sharding import partitioning
from restem_jax.training.loss import FullLogitsLoss

BATCH_KEYS = ("inputs", "targets", "segment_ids", "positions", "loss_mask", "weights")


class TrainState(flax.struct.PyTreeNode):
  step: jax.Array
  params: Any
  opt_state: Any


def state_shardings(params, tx: optax.GradientTransformation):
  """Shardings of a TrainState over these (sharded) params.

  Every optimizer leaf that mirrors a param (Adam's mu and nu) takes that param's
  sharding, so FSDP shards the optimizer state exactly like the weights; the other
  leaves (step counters) are replicated.
  """
  param_shardings = jax.tree.map(lambda x: x.sharding, params)
  mesh = jax.tree.leaves(param_shardings)[0].mesh
  rep = partitioning.replicated(mesh)
  abstract = jax.eval_shape(tx.init, params)
  opt_shardings = optax.tree_map_params(
      tx, lambda _, s: s, abstract, param_shardings,
      transform_non_params=lambda _: rep)
  return TrainState(step=rep, params=param_shardings, opt_state=opt_shardings)


def init_state(params, tx: optax.GradientTransformation) -> TrainState:
  """Optimizer state born sharded like the params (see `state_shardings`)."""
  leaf_sharding = jax.tree.leaves(params)[0].sharding
  if not isinstance(leaf_sharding, jax.sharding.NamedSharding):
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      opt_state=jax.jit(tx.init)(params))
  shardings = state_shardings(params, tx)
  opt_state = jax.jit(tx.init, out_shardings=shardings.opt_state)(params)
  step = jax.device_put(jnp.zeros((), jnp.int32), shardings.step)
  return TrainState(step=step, params=params, opt_state=opt_state)


def micro_key(seed: int, step, micro):
  """The training-randomness key (LoRA dropout) of one micro-batch: a function of the run
  seed, the optimizer step and the micro-batch index only, so runs are reproducible."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), step), micro)


def train_step(state: TrainState, batch, *, cfg: ModelConfig, tx, schedule, loss_fn=None,
               frozen=None, view=None, seed: int = 0):
  """One optimizer step; `loss_fn(cfg, params, micro_batch) -> (loss_sum, ntok)`.

  `state.params` are the trained leaves. With `view`, the loss sees
  `view(frozen, params, key)` (a LoRA M-step: frozen base weights plus trained adapters,
  `key = micro_key(seed, step, micro-batch)` for dropout); gradients and optimizer state
  cover only `state.params`.
  """
  loss_fn = loss_fn or FullLogitsLoss()
  if view is None:
    grad_fn = jax.value_and_grad(lambda p, mb, i: loss_fn(cfg, p, mb), has_aux=True)
  else:
    grad_fn = jax.value_and_grad(
        lambda p, mb, i: loss_fn(cfg, view(frozen, p, micro_key(seed, state.step, i)), mb),
        has_aux=True)

  def micro(carry, xs):
    g_acc, loss_acc, tok_acc = carry
    i, mb = xs
    (loss_sum, ntok), g = grad_fn(state.params, mb, i)
    return (jax.tree.map(jnp.add, g_acc, g), loss_acc + loss_sum, tok_acc + ntok), None

  zeros = jax.tree.map(jnp.zeros_like, state.params)
  num_micro = jax.tree.leaves(batch)[0].shape[0]
  (grads, loss_sum, ntok), _ = jax.lax.scan(
      micro, (zeros, 0.0, 0.0), (jnp.arange(num_micro), batch))
  denom = jnp.maximum(ntok, 1.0)
  grads = jax.tree.map(lambda g: g / denom, grads)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  metrics = {"loss": loss_sum / denom, "grad_norm": optax.tree.norm(grads),
             "learning_rate": schedule(state.step), "target_tokens": ntok,
             "tokens": jnp.sum(batch["segment_ids"] > 0).astype(jnp.float32)}
  return TrainState(step=state.step + 1, params=params, opt_state=opt_state), metrics


def make_train_step(cfg: ModelConfig, tx, schedule, mesh, rules, state: TrainState,
                    loss_fn=None, frozen=None, view=None, seed: int = 0):
  """Jit `train_step` for this state's sharding; batch rows are data-parallel; `seed`
  (the run's) keys the training randomness (see `micro_key`).

  `state` may be abstract (ShapeDtypeStructs with shardings): `restem_jax.plan`
  compiles this same program ahead of time. `frozen` (with `view`, see `train_step`) is
  an argument of the program, never donated and never a baked-in constant.
  """
  state_sharding = jax.tree.map(lambda x: x.sharding, state)
  row_spec = jax.sharding.PartitionSpec(
      None, *partitioning.batch_sharding(mesh, rules, 2).spec)
  batch_sharding = {k: jax.sharding.NamedSharding(mesh, row_spec) for k in BATCH_KEYS}
  out_shardings = (state_sharding, partitioning.replicated(mesh))
  if view is None:
    jitted = jax.jit(
        lambda s, b: train_step(s, b, cfg=cfg, tx=tx, schedule=schedule, loss_fn=loss_fn),
        in_shardings=(state_sharding, batch_sharding), out_shardings=out_shardings,
        donate_argnums=(0,))
    call = jitted
  else:
    jitted = jax.jit(
        lambda s, f, b: train_step(s, b, cfg=cfg, tx=tx, schedule=schedule,
                                   loss_fn=loss_fn, frozen=f, view=view, seed=seed),
        in_shardings=(state_sharding, jax.tree.map(lambda x: x.sharding, frozen),
                      batch_sharding),
        out_shardings=out_shardings, donate_argnums=(0,))
    call = lambda s, b: jitted(s, frozen, b)

  def step(s, b):
    with partitioning.activation_sharding(mesh, rules):
      return call(s, {k: b[k] for k in BATCH_KEYS})
  step.batch_sharding = batch_sharding
  step.jitted = jitted
  return step
