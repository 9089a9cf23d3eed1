"""Pretraining a small base model from scratch on a generated text corpus.

The toy loop needs a partially competent base model on CPU; this trains one with
the same sharded step the M-step uses (loss on every token of each document) and
returns its params. `restem_jax.loop.base_model` saves it as the base checkpoint.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np

from restem_jax import vocab as vocab_lib
from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import partitioning
from restem_jax.training import packing
from restem_jax.training.trainer import Trainer, TrainLoopConfig


def documents_to_examples(texts: Sequence[str], vocab) -> list[packing.Example]:
  """Each document is a target in full (no prompt): BOS where the tokenizer adds one, EOS."""
  vocab = vocab_lib.ensure(vocab)
  return [packing.Example(np.zeros((0,), np.int32),
                          np.asarray(list(vocab.encode_prompt(t)) + [vocab.eos_id], np.int32))
          for t in texts]


def pretrain(model_cfg: ModelConfig, vocab, texts: Sequence[str], cfg: TrainLoopConfig, mesh,
             rules, init_seed: int = 0, progress=None):
  """Returns (params, history) after `cfg.num_steps` steps from a fresh init."""
  params, _, _ = partitioning.init_sharded(
      lambda k: interface.init_boxed(model_cfg, k), jax.random.key(init_seed), mesh, rules)
  trainer = Trainer(model_cfg, cfg, mesh, rules, params)
  history = trainer.fit(documents_to_examples(texts, vocab), progress=progress)
  return trainer.params, history
