"""The programs a run executes, lowered on abstract inputs (no arrays, no accelerator).

Each builder returns a `jax.stages.Lowered` for exactly the jitted function the run
calls — `train_step.make_train_step` for the M-step, the sampler engine's
`program(shape)` for the E-step, evaluation and greedy decodes — with ShapeDtypeStruct
arguments that carry the run's shardings (training rules for the train step, sampling
rules for decoding; `decode_input.abstract` for the decode batch).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from restem_jax.checkpoint import model_checkpoint
from restem_jax.model import attention
from restem_jax.model.config import ModelConfig
from restem_jax.sampling import decode_input, engines, stops
from restem_jax.sampling import sampler as sampler_lib
from restem_jax.sampling.sampler import SamplerConfig
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


def _sds(x, sharding):
  return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)


def train_program(cfg: ModelConfig, loop: TrainLoopConfig, mesh, rules,
                  opt_state_layout: str = "sharded"):
  """The M-step train step on one [accum, rows, seq_len] batch.

  opt_state_layout='replicated' plans the optimizer state as it was before it was
  sharded like the params (for before/after comparisons only).
  """
  params = model_checkpoint.abstract_params(cfg, mesh, rules)
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


def decode_program(cfg: ModelConfig, sampler: SamplerConfig, mesh, rules, *, num_samples: int,
                   top_k: int, stop_table: stops.StopTable, prefix_len: int = 0):
  """The decode call the Sampler makes for a full [rows, largest bucket] batch of prompt
  suffixes after a shared prefix of `prefix_len` tokens: `sampler.engine`'s program
  (cascade; refill when `slots_per_problem` < num_samples; or repeat) on the abstract
  `DecodeBatch`. `stop_table` gives the stop table's shapes (`stops.abstract_table`)."""
  engine = engines.make(sampler.engine, cfg, sampler.max_new_tokens, sampler.slots_per_problem)
  batch = decode_input.abstract(sampler_lib.rows_per_call(sampler, mesh),
                                max(sampler.prompt_buckets), stop_table, mesh, rules)
  args = (model_checkpoint.abstract_params(cfg, mesh, rules),
          engine.abstract_prefix(prefix_len, mesh), batch)
  with partitioning.activation_sharding(mesh, rules):
    return engine.program(engine.shape(num_samples, top_k)).lower(*args)


def decode_cache_bytes(cfg: ModelConfig, sampler: SamplerConfig, mesh, *, num_samples: int,
                       prefix_len: int = 0) -> int:
  """KV cache bytes of `decode_program`'s call (all devices together)."""
  engine = engines.make(sampler.engine, cfg, sampler.max_new_tokens, sampler.slots_per_problem)
  return engine.cache_bytes(engine.shape(num_samples, 0), sampler_lib.rows_per_call(sampler, mesh),
                            max(sampler.prompt_buckets), prefix_len)
