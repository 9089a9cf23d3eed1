"""Host-side training loop shared by pretraining and the M-step.

Examples longer than a row are dropped and counted (never cut), the rest are packed
once into rows in the given order (the M-step shuffles its examples first); each step takes `accum x rows` rows (reshuffled
every epoch with an explicit seed). Metrics are read one step late so the host
never waits on the device between dispatches.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Iterator, Sequence

import jax
import numpy as np
from absl import logging

from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.training import loss as loss_lib
from restem_jax.training import packing, train_step, tuning as tuning_lib
from restem_jax.training.optimizer import OptimizerConfig, make_optimizer


@dataclasses.dataclass(frozen=True)
class TrainLoopConfig:
  seq_len: int = 128          # packed row length
  rows_per_micro: int = 16    # rows per micro-batch (a multiple of the data-parallel size)
  accum_steps: int = 1        # micro-batches per optimizer step
  num_steps: int = 100
  seed: int = 0
  loss_chunk_len: int = 512   # positions per LM-head/softmax chunk; 0 = full BxTxV logits
  optimizer: OptimizerConfig = OptimizerConfig()


def batches(rows: packing.PackedBatch, cfg: TrainLoopConfig, start_step: int = 0
            ) -> Iterator[dict[str, np.ndarray]]:
  """Endless [accum, rows, T] batches over shuffled packed rows (deterministic)."""
  per_step = cfg.rows_per_micro * cfg.accum_steps
  rows = packing.pad_to_multiple(rows, per_step)
  n = rows.num_rows
  data = rows.as_dict()
  steps_per_epoch = n // per_step
  step = start_step
  while True:
    epoch, k = divmod(step, steps_per_epoch)
    perm = np.random.default_rng([cfg.seed, epoch]).permutation(n)
    idx = perm[k * per_step:(k + 1) * per_step]
    yield {key: v[idx].reshape(cfg.accum_steps, cfg.rows_per_micro, -1) for key, v in data.items()}
    step += 1


def prepare(examples: Sequence[packing.Example], cfg: TrainLoopConfig
            ) -> tuple[list[packing.Example], int]:
  """(the examples that fit a row, in order; how many were dropped)."""
  keep, drop = packing.split_overlong(examples, cfg.seq_len)
  if drop:
    logging.warning("training: dropped %d of %d examples longer than train.seq_len=%d "
                    "(longest: %d tokens); they are counted, never cut.", len(drop),
                    len(examples), cfg.seq_len,
                    max(len(e.prompt) + len(e.target) - 1 for e in drop))
  if not keep:
    raise ValueError(f"training: all {len(examples)} examples are longer than "
                     f"train.seq_len={cfg.seq_len}; raise train.seq_len.")
  return keep, len(drop)


class Trainer:
  """Owns the optimizer state and the compiled step for one fine-tuning run."""

  def __init__(self, model_cfg: ModelConfig, cfg: TrainLoopConfig, mesh, rules, params,
               tuning=None):
    """`tuning`: what trains (`restem_jax.training.tuning`); default every weight."""
    dp = mesh_lib.data_parallel_size(mesh)
    if cfg.rows_per_micro % dp:
      raise ValueError(f"train.rows_per_micro={cfg.rows_per_micro} must be a multiple of the "
                       f"data-parallel size {dp}.")
    self.cfg, self.model_cfg = cfg, model_cfg
    self.tuning = tuning or tuning_lib.FullTuning()
    self.tx, self.schedule = make_optimizer(cfg.optimizer)
    # Params may arrive in the sampling layout (E-step); train in the training layout.
    params = partitioning.reshard(params, partitioning.param_shardings(
        lambda k: interface.init_boxed(model_cfg, k), mesh, rules))
    trainable, self.frozen = self.tuning.split(model_cfg, params, mesh, rules)
    self.state = train_step.init_state(trainable, self.tx)
    self.dropped_overlong = 0  # examples `fit` dropped as longer than a row
    self._step = train_step.make_train_step(model_cfg, self.tx, self.schedule, mesh, rules,
                                            self.state, loss_lib.make_loss(cfg.loss_chunk_len),
                                            frozen=self.frozen, view=self.tuning.view,
                                            seed=cfg.seed)

  @property
  def trainable(self):
    """The trained leaves: the params (full tuning) or the adapters (LoRA)."""
    return self.state.params

  @property
  def params(self):
    """Model params now (LoRA: merged, a new copy per call)."""
    return self.model_params(self.state.params)

  def model_params(self, trainable):
    return self.tuning.model_params(self.model_cfg, trainable, self.frozen)

  def fit(self, examples: Sequence[packing.Example], num_steps: int | None = None,
          callback: Callable[[int, dict], bool | None] | None = None, every: int = 0,
          progress: Callable[[int], None] | None = None) -> list[dict]:
    """Trains; `callback(step, metrics)` runs every `every` steps and may return True to stop."""
    num_steps = self.cfg.num_steps if num_steps is None else num_steps
    examples, self.dropped_overlong = prepare(examples, self.cfg)
    rows = packing.pack(examples, self.cfg.seq_len)
    it = batches(rows, self.cfg)
    history, pending, t0 = [], None, time.perf_counter()
    for i in range(num_steps):
      b = next(it)
      placed = {k: jax.device_put(v, self._step.batch_sharding[k]) for k, v in b.items()}
      self.state, metrics = self._step(self.state, placed)
      if pending is not None:
        history.append(self._finish(pending, t0))
        t0 = time.perf_counter()
      pending = (i, metrics)
      if progress:
        progress(i)
      if callback and every and (i + 1) % every == 0:
        history.append(self._finish(pending, t0))
        pending, t0 = None, time.perf_counter()
        if callback(i + 1, history[-1]):
          break
    if pending is not None:
      history.append(self._finish(pending, t0))
    return history

  @staticmethod
  def _finish(pending, t0) -> dict:
    i, metrics = pending
    m = {k: float(v) for k, v in jax.device_get(metrics).items()}
    dt = max(time.perf_counter() - t0, 1e-9)
    m.update(step=i + 1, step_seconds=dt, tokens_per_second=m["tokens"] / dt)
    if (i + 1) % 50 == 0:
      logging.info("step %d loss %.4f grad_norm %.3f tokens/s %.0f", i + 1, m["loss"],
                   m["grad_norm"], m["tokens_per_second"])
    return m
