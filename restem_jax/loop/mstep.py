"""M-step (Improve): fine-tune from the initial params on the kept samples.

The loss is the reward-weighted NLL on exactly the token ids the sampler
produced (prompt tokens masked out). Every `eval_every` steps the validation
reward (greedy pass@1 on D_val) is measured and training stops after `patience`
evaluations without improvement over the best so far, the initial params included
("while reward improves on D_val", Algorithm 1). The init is evaluated first and
competes: the result is the evaluated params with the highest validation reward
(ties: the earliest, so the init wins a tie). When no fine-tuned step beats the init,
the init is returned and `kept_init` says so (the loop logs and counts it).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import jax
import numpy as np
from absl import logging

from restem_jax.sharding import host_arrays
from restem_jax.training import packing
from restem_jax.training.packing import Example
from restem_jax.training.trainer import Trainer, TrainLoopConfig
from restem_jax.training.tuning import FullTuning


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
  kept_init: bool = False     # no fine-tuned step beat the init's validation reward
  dropped_overlong: int = 0   # kept samples longer than train.seq_len (dropped, not cut)
  adapters: object = None     # LoRA: the adapters `params` merge in (None: full tuning)


def examples_from_kept(kept: Sequence[dict]) -> list[Example]:
  return [Example(np.asarray(k["prompt_tokens"], np.int32), np.asarray(k["sample_tokens"], np.int32),
                  float(k["reward"])) for k in kept]


def run_mstep(model_cfg, loop_cfg: TrainLoopConfig, cfg: MStepConfig, mesh, rules, init_params,
              examples: Sequence[Example], val_reward: Callable[[object], float],
              progress=None, tuning=None) -> MStepResult:
  """Trains from `init_params`; returns the params with the best validation reward.

  `tuning` (`restem_jax.training.tuning`): what trains; default every weight. With LoRA,
  `init_params` is the frozen base and the init that competes is base + the starting
  adapters (merged); the best adapters come back in `MStepResult.adapters`."""
  if not examples:
    raise ValueError("run_mstep: the kept set is empty; nothing to fine-tune on.")
  tuning = tuning or FullTuning()
  # The full-tuning step donates its state; train a copy so `init_params` (the base
  # model, reused by every iteration) stays alive. LoRA never donates the base.
  trainer = Trainer(model_cfg, loop_cfg, mesh, rules,
                    jax.tree.map(lambda x: x.copy(), init_params) if tuning.copies_params
                    else init_params, tuning)
  init_adapters = None
  if not tuning.copies_params:  # adapters: the init is base + the starting adapters
    init_adapters = host_arrays.snapshot(trainer.trainable)
    # Merged for this one evaluation and dropped: held through training, the merged init
    # was a second copy of every adapted weight beside the base (+5.2 GB at 1.5B).
    init_reward = val_reward(trainer.params)
  else:
    init_reward = val_reward(init_params)
  curve = [(0, init_reward)]
  best = {"step": 0, "reward": init_reward, "params": None}  # None = the init itself
  state = {"target": init_reward, "bad": 0}  # improvement is measured against the init too

  def on_eval(step, _metrics):
    r = val_reward(trainer.params)
    curve.append((step, r))
    if r > best["reward"]:
      best.update(step=step, reward=r, params=host_arrays.snapshot(trainer.trainable))
    if r > state["target"]:
      state.update(target=r, bad=0)
    else:
      state["bad"] += 1
    return state["bad"] >= cfg.patience

  # Kept samples come problem-major: shuffle (seeded) so one problem's samples do not
  # share rows, and so steps, every epoch.
  history = trainer.fit(packing.shuffled(examples, loop_cfg.seed), num_steps=cfg.max_steps, callback=on_eval,
                        every=cfg.eval_every, progress=progress)
  if curve[-1][0] != history[-1]["step"]:  # the last steps were not evaluated yet
    on_eval(history[-1]["step"], history[-1])
  tokens = int(sum(h["tokens"] for h in history))
  if best["params"] is None:
    logging.warning("M-step: no fine-tuned step beat the init's validation reward %.4f "
                    "(curve %s); keeping the init.", init_reward, curve)
    kept = None if init_adapters is None else host_arrays.restore(init_adapters)
    if kept is not None:
      init_params = trainer.model_params(kept)  # merged again, now that training is over
    return MStepResult(init_params, 0, init_reward, curve, history, tokens, kept_init=True,
                       dropped_overlong=trainer.dropped_overlong, adapters=kept)
  best_trainable = host_arrays.restore(best["params"])
  return MStepResult(trainer.model_params(best_trainable), best["step"], best["reward"],
                     curve, history, tokens, dropped_overlong=trainer.dropped_overlong,
                     adapters=None if tuning.copies_params else best_trainable)
