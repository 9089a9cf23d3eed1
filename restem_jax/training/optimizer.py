"""AdamW with warmup + constant/cosine schedule and global-norm clipping (optax)."""

from __future__ import annotations

import dataclasses

import jax
import optax


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
  learning_rate: float = 1e-3
  warmup_steps: int = 10
  schedule: str = "constant"   # 'constant' | 'cosine'
  decay_steps: int = 1000      # cosine: steps from start to end of decay
  end_lr_fraction: float = 0.1  # cosine: final lr / peak lr
  b1: float = 0.9
  b2: float = 0.95
  weight_decay: float = 0.0
  grad_clip_norm: float = 1.0


def make_schedule(cfg: OptimizerConfig) -> optax.Schedule:
  """Linear warmup from lr / warmup_steps (so step 0 already trains), then the schedule."""
  start = cfg.learning_rate / max(cfg.warmup_steps, 1)
  if cfg.schedule == "constant":
    return optax.join_schedules(
        [optax.linear_schedule(start, cfg.learning_rate, max(cfg.warmup_steps, 1)),
         optax.constant_schedule(cfg.learning_rate)], [max(cfg.warmup_steps, 1)])
  if cfg.schedule == "cosine":
    return optax.warmup_cosine_decay_schedule(
        start, cfg.learning_rate, max(cfg.warmup_steps, 1), max(cfg.decay_steps, cfg.warmup_steps + 1),
        end_value=cfg.learning_rate * cfg.end_lr_fraction)
  raise ValueError(f"optimizer.schedule={cfg.schedule!r}; expected 'constant' or 'cosine'.")


def _decay_mask(params):
  return jax.tree.map(lambda x: x.ndim >= 2, params)


def make_optimizer(cfg: OptimizerConfig) -> tuple[optax.GradientTransformation, optax.Schedule]:
  schedule = make_schedule(cfg)
  tx = optax.chain(
      optax.clip_by_global_norm(cfg.grad_clip_norm),
      optax.adamw(schedule, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay,
                  mask=_decay_mask))
  return tx, schedule
