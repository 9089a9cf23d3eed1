"""M-step (Improve): fine-tune from the initial params on the kept samples.

The loss is the reward-weighted NLL on exactly the token ids the sampler
produced (prompt tokens masked out). Every `eval_every` steps the validation
reward (greedy pass@1 on D_val) is measured; the best params so far are kept,
and training stops after `patience` evaluations without improvement
("while reward improves on D_val", Algorithm 1).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import jax
import numpy as np

from restem_jax.training.packing import Example
from restem_jax.training.trainer import Trainer, TrainLoopConfig


@dataclasses.dataclass(frozen=True)
class MStepConfig:
  max_steps: int = 200
  eval_every: int = 50   # steps between validation-reward evaluations
  patience: int = 2      # evaluations without improvement before stopping


@dataclasses.dataclass(frozen=True)
class MStepResult:
  params: object
  best_step: int
  best_val_reward: float
  val_curve: list[tuple[int, float]]
  history: list[dict]
  trained_tokens: int


def examples_from_kept(kept: Sequence[dict]) -> list[Example]:
  return [Example(np.asarray(k["prompt_tokens"], np.int32), np.asarray(k["sample_tokens"], np.int32),
                  float(k["reward"])) for k in kept]


def run_mstep(model_cfg, loop_cfg: TrainLoopConfig, cfg: MStepConfig, mesh, rules, init_params,
              examples: Sequence[Example], val_reward: Callable[[object], float],
              progress=None) -> MStepResult:
  """Trains from `init_params`; returns the params with the best validation reward."""
  if not examples:
    raise ValueError("run_mstep: the kept set is empty; nothing to fine-tune on.")
  trainer = Trainer(model_cfg, loop_cfg, mesh, rules, init_params)
  best = {"step": 0, "reward": val_reward(init_params), "params": None, "bad": 0}
  curve = [(0, best["reward"])]

  def on_eval(step, _metrics):
    r = val_reward(trainer.params)
    curve.append((step, r))
    if r > best["reward"]:
      best.update(step=step, reward=r, params=jax.device_get(trainer.params), bad=0)
    else:
      best["bad"] += 1
    return best["bad"] >= cfg.patience

  history = trainer.fit(examples, num_steps=cfg.max_steps, callback=on_eval,
                        every=cfg.eval_every, progress=progress)
  if best["params"] is None:  # no evaluation beat the initial params: keep the last iterate
    best_params, best_step = trainer.params, history[-1]["step"]
    best["reward"] = curve[-1][1]
  else:
    shardings = jax.tree.map(lambda x: x.sharding, trainer.params)
    best_params, best_step = jax.device_put(best["params"], shardings), best["step"]
  return MStepResult(best_params, best_step, best["reward"], curve, history,
                     int(sum(h["tokens"] for h in history)))
