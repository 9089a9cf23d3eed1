"""The programs a run executes, lowered on abstract inputs (no arrays, no accelerator).

Each builder returns a `jax.stages.Lowered` for exactly the jitted function the run
calls — `train_step.make_train_step` for the M-step, the sampler engine's
`program(shape)` for the E-step, evaluation and greedy decodes — with ShapeDtypeStruct
arguments that carry the run's shardings (training rules for the train step, sampling
rules for decoding; `decode_input.abstract` for the decode batch).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from restem_jax.checkpoint import model_checkpoint
from restem_jax.model import attention
from restem_jax.model.config import ModelConfig
from restem_jax.sampling import decode_input, stops
from restem_jax.sampling import sampler as sampler_lib
from restem_jax.sampling.sampler import SamplerConfig
from restem_jax.sharding import partitioning
from restem_jax.training import loss as loss_lib
from restem_jax.training import train_step
from restem_jax.training.optimizer import make_optimizer
from restem_jax.training.trainer import TrainLoopConfig
from restem_jax.training.tuning import FullTuning

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
                  opt_state_layout: str = "sharded", tuning=None):
  """The M-step train step on one [accum, rows, seq_len] batch: (lowered program, its
  abstract TrainState, its abstract frozen params or None).

  `tuning` (`restem_jax.training.tuning`, the run's strategy; default every weight) splits
  the params as the Trainer does: with LoRA the state holds the adapters and their Adam
  moments, and the base (in cfg.param_dtype) is a frozen argument.
  opt_state_layout='replicated' plans the optimizer state as it was before it was
  sharded like the params (for before/after comparisons only).
  """
  tuning = tuning or FullTuning()
  params, frozen = tuning.abstract_split(
      cfg, model_checkpoint.abstract_params(cfg, mesh, rules), mesh, rules)
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
                                    loss_lib.make_loss(loop.loss_chunk_len), frozen=frozen,
                                    view=tuning.view, seed=loop.seed)
  shape = (loop.accum_steps, loop.rows_per_micro, loop.seq_len)
  batch = {k: jax.ShapeDtypeStruct(shape, _BATCH_DTYPES[k], sharding=step.batch_sharding[k])
           for k in train_step.BATCH_KEYS}
  args = (state, batch) if frozen is None else (state, frozen, batch)
  with partitioning.activation_sharding(mesh, rules):
    return step.jitted.lower(*args), state, frozen


def per_device_bytes(tree) -> int:
  """Bytes one device holds of a tree of sharded ShapeDtypeStructs (the largest shard of
  each leaf)."""
  total = 0
  for x in jax.tree.leaves(tree):
    shard = x.sharding.shard_shape(x.shape) if x.sharding is not None else x.shape
    total += math.prod(shard) * jnp.dtype(x.dtype).itemsize
  return total


def train_state_bytes(state: train_step.TrainState, frozen) -> dict:
  """Per-device bytes of the train step's state: 'trained' params (gradients, fp32 like
  them, take as much inside the program's temporaries), 'frozen' params, 'optimizer'."""
  return {"trained": per_device_bytes(state.params), "frozen": per_device_bytes(frozen),
          "optimizer": per_device_bytes(state.opt_state)}


def decode_program(cfg: ModelConfig, sampler: SamplerConfig, mesh, rules, *, num_samples: int,
                   top_k: int, stop_table: stops.StopTable, prefix_len: int = 0):
  """The decode call the Sampler makes for a full [rows, largest bucket] batch of prompt
  suffixes after a shared prefix of `prefix_len` tokens: `sampler.engine`'s program
  (cascade; refill when `slots_per_problem` < num_samples; or repeat) on the abstract
  `DecodeBatch`, with the weights in `sampler.params_dtype` and the KV cache in
  `sampler.kv_cache_dtype` (as `Sampler.place` and the engine hold them). `stop_table`
  gives the stop table's shapes (`stops.abstract_table`)."""
  engine = sampler_lib.make_engine(sampler, cfg)
  batch = decode_input.abstract(sampler_lib.rows_per_call(sampler, mesh),
                                max(sampler.prompt_buckets), stop_table, mesh, rules)
  args = (model_checkpoint.abstract_params(sampler_lib.sampling_model_config(sampler, cfg),
                                           mesh, rules),
          engine.abstract_prefix(prefix_len, mesh), batch)
  with partitioning.activation_sharding(mesh, rules):
    return engine.program(engine.shape(num_samples, top_k)).lower(*args)


def decode_cache_bytes(cfg: ModelConfig, sampler: SamplerConfig, mesh, *, num_samples: int,
                       prefix_len: int = 0) -> int:
  """KV cache bytes of `decode_program`'s call (all devices together)."""
  engine = sampler_lib.make_engine(sampler, cfg)
  return engine.cache_bytes(engine.shape(num_samples, 0), sampler_lib.rows_per_call(sampler, mesh),
                            max(sampler.prompt_buckets), prefix_len)
