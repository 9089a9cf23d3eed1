"""Reward-weighted negative log-likelihood, J = E[r(x, y) log p(y | x)] on target tokens."""

from __future__ import annotations

import jax.numpy as jnp

from restem_jax.model import interface
from restem_jax.model.config import ModelConfig


def weighted_nll_sums(cfg: ModelConfig, params, batch):
  """Returns (loss_sum, num_target_tokens) for one packed batch.

  loss_sum = -sum_t w_t log p(target_t); w_t is the example's reward on target
  tokens and 0 on prompt and padding. Sums (not means) make packing exact: the
  packed batch's loss_sum equals the sum over its unpacked examples.
  """
  logits = interface.logits_fn(cfg, params, batch["inputs"], batch["segment_ids"],
                               batch["positions"])
  logp = interface.token_logprobs(logits, batch["targets"])
  return -jnp.sum(logp * batch["weights"]), jnp.sum(batch["loss_mask"])
