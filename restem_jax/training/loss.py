"""Reward-weighted negative log-likelihood, J = E[r(x, y) log p(y | x)] on target tokens.

Two strategies compute the same sums:
  FullLogitsLoss  the reference: BxTxV fp32 logits and log-softmax in one piece.
  ChunkedLoss     the LM head, log-sum-exp and target logit over chunks of C positions
                  (`lax.scan`, each chunk rematerialised in the backward pass), so at
                  most a BxCxV fp32 block lives at a time; with V = 128k and T = 2048 that
                  is the difference between GiBs and MiBs of temporaries.
Both return (loss_sum, num_target_tokens): loss_sum = -sum_t w_t log p(target_t), w_t the
example's reward on target tokens and 0 on prompt and padding. Sums (not means) make
packing exact: the packed batch's loss_sum equals the sum over its unpacked examples.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from restem_jax.model import interface
from restem_jax.model.config import ModelConfig


def weighted_nll_sums(cfg: ModelConfig, params, batch):
  """(loss_sum, num_target_tokens) for one packed batch, through full BxTxV logits."""
  logits = interface.logits_fn(cfg, params, batch["inputs"], batch["segment_ids"],
                               batch["positions"])
  logp = interface.token_logprobs(logits, batch["targets"])
  return -jnp.sum(logp * batch["weights"]), jnp.sum(batch["loss_mask"])


@dataclasses.dataclass(frozen=True)
class FullLogitsLoss:
  """The reference loss (materialises BxTxV fp32 logits)."""

  def __call__(self, cfg: ModelConfig, params, batch):
    return weighted_nll_sums(cfg, params, batch)


def chunked_weighted_nll(hidden_BxTxD, head_DxV, targets_BxT, weights_BxT, chunk_len: int):
  """-sum_t w_t log softmax(h_t @ W)[y_t], over chunks of `chunk_len` positions.

  Padding positions added to fill the last chunk carry weight 0.
  """
  b, t, d = hidden_BxTxD.shape
  c = max(1, min(chunk_len, t))
  n = -(-t // c)
  pad = n * c - t
  if pad:
    hidden_BxTxD = jnp.pad(hidden_BxTxD, ((0, 0), (0, pad), (0, 0)))
    targets_BxT = jnp.pad(targets_BxT, ((0, 0), (0, pad)))
    weights_BxT = jnp.pad(weights_BxT, ((0, 0), (0, pad)))
  h_NxBxCxD = hidden_BxTxD.reshape(b, n, c, d).swapaxes(0, 1)
  y_NxBxC = targets_BxT.reshape(b, n, c).swapaxes(0, 1)
  w_NxBxC = weights_BxT.reshape(b, n, c).swapaxes(0, 1).astype(jnp.float32)
  head = head_DxV.astype(hidden_BxTxD.dtype)

  @jax.checkpoint
  def chunk_sum(h_BxCxD, y_BxC, w_BxC):
    logits_BxCxV = jnp.einsum("bcd,dv->bcv", h_BxCxD, head).astype(jnp.float32)
    logits_BxCxV = nn.with_logical_constraint(logits_BxCxV, ("batch", "act_length", "act_vocab"))
    lse_BxC = jax.nn.logsumexp(logits_BxCxV, axis=-1)
    # The target logit by a one-hot sum: stays local to each vocabulary shard.
    vocab_V = jnp.arange(logits_BxCxV.shape[-1], dtype=y_BxC.dtype)
    target_BxC = jnp.sum(jnp.where(vocab_V == y_BxC[..., None], logits_BxCxV, 0.0), axis=-1)
    return -jnp.sum(w_BxC * (target_BxC - lse_BxC))

  def body(acc, xs):
    return acc + chunk_sum(*xs), None

  total, _ = jax.lax.scan(body, jnp.zeros((), jnp.float32), (h_NxBxCxD, y_NxBxC, w_NxBxC))
  return total


@dataclasses.dataclass(frozen=True)
class ChunkedLoss:
  """The LM head and softmax over chunks of `chunk_len` positions (no BxTxV buffer)."""
  chunk_len: int = 512

  def __call__(self, cfg: ModelConfig, params, batch):
    hidden = interface.hidden_fn(cfg, params, batch["inputs"], batch["segment_ids"],
                                 batch["positions"])
    loss_sum = chunked_weighted_nll(hidden, interface.lm_head_DxV(cfg, params),
                                    batch["targets"], batch["weights"], self.chunk_len)
    return loss_sum, jnp.sum(batch["loss_mask"])


def make_loss(chunk_len: int):
  """`chunk_len` > 0: ChunkedLoss over that many positions; 0: the full-logits reference."""
  if chunk_len < 0:
    raise ValueError(f"train.loss_chunk_len={chunk_len}; expected 0 (full logits) or > 0.")
  return ChunkedLoss(chunk_len) if chunk_len else FullLogitsLoss()
