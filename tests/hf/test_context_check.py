"""A sliding-window checkpoint is refused by the run setup when the run's sequences
(largest prompt bucket + max_new_tokens, or train.seq_len) would not fit in the window:
the model has no windowed attention, so longer contexts would silently differ."""

import importlib.util
import os

import pytest

from restem_jax.loop import runner
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("toy_arith_config",
                                               os.path.join(REPO, "configs", "toy_arith.py"))
toy_arith_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy_arith_config)


def _config(window: int, seq_len: int):
  """The tiny toy with a window; lengths otherwise consistent (loop.length_check passes), so
  the only thing wrong with the run is the window."""
  c = toy_arith_config.get_config("tiny")
  c.model.sliding_window = window
  c.train.seq_len = seq_len
  c.model.max_len = max(c.model.max_len, seq_len)
  return c


def test_run_refuses_sampling_context_beyond_window(tmp_path):
  c = _config(window=32, seq_len=64)
  longest = max(c.sampler.prompt_buckets) + c.sampler.max_new_tokens
  assert longest > 32
  with pytest.raises(ValueError, match=f"sampling context.*{longest} tokens.*sliding_window=32"):
    runner.Run(typed(c), str(tmp_path))


def test_run_refuses_train_seq_len_beyond_window(tmp_path):
  c = _config(window=4096, seq_len=8192)
  with pytest.raises(ValueError, match="train.seq_len of 8192 tokens.*sliding_window=4096"):
    runner.Run(typed(c), str(tmp_path))


def test_run_accepts_a_window_that_holds_every_sequence(tmp_path):
  c = _config(window=4096, seq_len=256)
  run = runner.Run(typed(c), str(tmp_path))
  assert run.model_cfg.sliding_window == 4096
