"""The programs a run executes, lowered on abstract inputs (no arrays, no accelerator).

Each builder returns a `jax.stages.Lowered` for exactly the jitted function the run
calls — `train_step.make_train_step` for the M-step, `decode.jit_generate` for the
E-step, evaluation and greedy decodes — with ShapeDtypeStruct arguments that carry the
run's shardings (training rules for the train step, sampling rules for decoding).
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from restem_jax.model import attention, interface
from restem_jax.model.config import ModelConfig
from restem_jax.sampling import decode, stops
from restem_jax.sampling.sampler import SamplerConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.training import loss as loss_lib
from restem_jax.training import train_step
from restem_jax.training.optimizer import make_optimizer
from restem_jax.training.trainer import TrainLoopConfig

_BATCH_DTYPES = {"inputs": jnp.int32, "targets": jnp.int32, "segment_ids": jnp.int32,
                 "positions": jnp.int32, "loss_mask": jnp.float32, "weights": jnp.float32}


def for_platform(cfg: ModelConfig, platform: str) -> ModelConfig:
  """Resolve attention_impl='auto' for the target platform (not this host's)."""
  if cfg.attention_impl != "auto":
    return cfg
  return dataclasses.replace(cfg, attention_impl=attention.resolve("auto", platform))


def abstract_params(cfg: ModelConfig, mesh, rules):
  """ShapeDtypeStructs of the params, sharded by `rules` (nothing is initialised)."""
  boxed = jax.eval_shape(lambda k: interface.init_boxed(cfg, k), jax.random.key(0))
  shardings = partitioning.logical_to_shardings(nn.get_partition_spec(boxed), mesh, rules)
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                      nn.meta.unbox(boxed), shardings)


def _sds(x, sharding):
  return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)


def train_program(cfg: ModelConfig, loop: TrainLoopConfig, mesh, rules,
                  opt_state_layout: str = "sharded"):
  """The M-step train step on one [accum, rows, seq_len] batch.

  opt_state_layout='replicated' plans the optimizer state as it was before it was
  sharded like the params (for before/after comparisons only).
  """
  params = abstract_params(cfg, mesh, rules)
  tx, schedule = make_optimizer(loop.optimizer)
  shardings = train_step.state_shardings(params, tx)
  rep = partitioning.replicated(mesh)
  if opt_state_layout == "replicated":
    shardings = shardings.replace(opt_state=jax.tree.map(lambda _: rep, shardings.opt_state))
  elif opt_state_layout != "sharded":
    raise ValueError(f"opt_state_layout={opt_state_layout!r}; expected 'sharded' or 'replicated'.")
  opt_state = jax.tree.map(_sds, jax.eval_shape(tx.init, params), shardings.opt_state)
  state = train_step.TrainState(step=jax.ShapeDtypeStruct((), jnp.int32, sharding=rep),
                                params=params, opt_state=opt_state)
  step = train_step.make_train_step(cfg, tx, schedule, mesh, rules, state,
                                    loss_lib.make_loss(loop.loss_chunk_len))
  shape = (loop.accum_steps, loop.rows_per_micro, loop.seq_len)
  batch = {k: jax.ShapeDtypeStruct(shape, _BATCH_DTYPES[k], sharding=step.batch_sharding[k])
           for k in train_step.BATCH_KEYS}
  with partitioning.activation_sharding(mesh, rules):
    return step.jitted.lower(state, batch)


def decode_rows(sampler: SamplerConfig, mesh) -> int:
  """Prompts per decode call, rounded up to the data-parallel size (as the Sampler does)."""
  dp = mesh_lib.data_parallel_size(mesh)
  return -(-max(sampler.prompts_per_batch, 1) // dp) * dp


def decode_program(cfg: ModelConfig, sampler: SamplerConfig, mesh, rules, *, num_samples: int,
                   top_k: int, eos_id: int = 1):
  """One compiled decode call at the largest prompt bucket and max_new_tokens."""
  fn = decode.jit_generate(cfg, num_samples=num_samples, max_new_tokens=sampler.max_new_tokens,
                           top_k=top_k, pad_id=0)
  b, p = decode_rows(sampler, mesh), max(sampler.prompt_buckets)
  rep = partitioning.replicated(mesh)
  rows2 = partitioning.batch_sharding(mesh, rules, 2)
  rows1 = partitioning.batch_sharding(mesh, rules, 1)
  i32 = lambda shape, s: jax.ShapeDtypeStruct(shape, jnp.int32, sharding=s)
  f32 = jax.ShapeDtypeStruct((), jnp.float32, sharding=rep)
  table = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=rep),
                       stops.build_table((b"",) * cfg.vocab_size, (), {eos_id}))
  args = (abstract_params(cfg, mesh, rules), i32((b, p), rows2), i32((b,), rows1),
          i32((b,), rows1), jax.ShapeDtypeStruct((b,), jnp.bool_, sharding=rows1),
          i32((), rep), i32((), rep), i32((), rep), f32, f32, table)
  with partitioning.activation_sharding(mesh, rules):
    return fn.lower(*args)
