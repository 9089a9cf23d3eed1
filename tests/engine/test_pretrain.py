"""A few steps of toy pretraining reduce the loss."""

import numpy as np

from restem_jax.tasks import toy_arith
from restem_jax.training import pretrain
from restem_jax.training.optimizer import OptimizerConfig
from restem_jax.training.trainer import TrainLoopConfig
from tests.engine import toy


def test_pretraining_reduces_loss():
  texts = toy_arith.pretraining_texts(seed=0, num=300, mistake_rate=0.5)
  cfg = TrainLoopConfig(seq_len=128, rows_per_micro=8, num_steps=30,
                        optimizer=OptimizerConfig(learning_rate=3e-3, warmup_steps=5))
  _, history = pretrain.pretrain(toy.TOY, toy.VOCAB, texts, cfg, toy.one_device_mesh(), toy.RULES)
  first = np.mean([h["loss"] for h in history[:3]])
  last = np.mean([h["loss"] for h in history[-3:]])
  assert last < 0.7 * first, (first, last)
  assert all(h["target_tokens"] > 0 for h in history)
