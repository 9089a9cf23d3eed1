"""Our side of the benchmarks: the compiled decode program and the jitted train step.

No side effects at import (threads are pinned by each script before importing this).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import models
from restem_jax.sampling import decode, decode_input
from restem_jax.sharding import partitioning
from restem_jax.training import optimizer, train_step

TEMPERATURE, TOP_K = 0.7, 40
OPT = optimizer.OptimizerConfig(learning_rate=1e-4, warmup_steps=1, weight_decay=0.1)


class OursDecode:
  """The jitted decode program for one (model, N, M) and fixed left-padded prompts."""

  def __init__(self, cfg, params, mesh, prompts_BxP, lens_B, num_samples, new_tokens,
               temperature=TEMPERATURE, top_k=TOP_K):
    self.mesh = mesh
    self.fn = decode.jit_generate(cfg, decode_input.DecodeShape(
        num_samples=num_samples, max_new_tokens=new_tokens, top_k=top_k))
    self.batch = decode_input.unstopped(prompts_BxP, lens_B, cfg.vocab_size,
                                        temperature=temperature)
    self.params = params
    self.seed = 0

  def compile(self) -> float:
    t0 = time.perf_counter()
    with partitioning.activation_sharding(self.mesh, models.RULES):
      self.fn = self.fn.lower(self.params, self.batch).compile()
    return time.perf_counter() - t0

  def __call__(self):
    self.seed += 1
    batch = self.batch.replace(seed=jnp.int32(self.seed))
    with partitioning.activation_sharding(self.mesh, models.RULES):
      out = self.fn(self.params, batch)
    return jax.block_until_ready(out)["tokens"]


def make_prompts(rng, cfg, batch, prompt_len, ragged):
  lens = (rng.integers(max(prompt_len // 4, 1), prompt_len + 1, batch) if ragged
          else np.full(batch, prompt_len))
  prompts = np.zeros((batch, prompt_len), np.int32)
  for r, n in enumerate(lens):
    prompts[r, prompt_len - n:] = rng.integers(2, cfg.vocab_size, n)
  return prompts, lens.astype(np.int32)



class OursTrain:
  def __init__(self, cfg, params, mesh, batch):
    tx, schedule = optimizer.make_optimizer(OPT)
    self.state = train_step.init_state(params, tx)
    self.step = train_step.make_train_step(cfg, tx, schedule, mesh, models.RULES, self.state)
    self.batch = {k: jax.device_put(v, self.step.batch_sharding[k]) for k, v in batch.items()}

  def __call__(self):
    self.state, metrics = self.step(self.state, self.batch)
    return float(metrics["loss"])
