"""Pieces of the E-step benchmark: a word-level vocabulary shared by ours and HF, stop choice.

Token i is the string "<i>" (id 2 is "abcdef", the static prefix HF's stop-string
code tokenises to learn each token's text), so a decoded text is the concatenation
of its token strings on both sides and a stop string like "<417>" is matched by text, not by id.
"""

from __future__ import annotations

import re

import numpy as np

SPECIAL = "abcdef"
_TOKEN = re.compile(r"<(\d+)>|" + SPECIAL)


def token_string(i: int) -> str:
  return SPECIAL if i == 2 else f"<{i}>"


class WordVocab:
  """The sampler side: encode/decode over "<i>" strings; no EOS ever ends a row."""

  eos_id = 1
  stop_ids = frozenset({-1})  # random weights: only the chosen stop string ends rows

  def __init__(self, size: int):
    self.vocab_size = size

  def encode(self, text: str) -> list[int]:
    out = [int(m.group(1)) if m.group(1) else 2 for m in _TOKEN.finditer(text)]
    return out or [2]

  def decode(self, ids) -> str:
    return "".join(token_string(int(i)) for i in ids if 0 <= int(i) < self.vocab_size)

  def encode_prompt(self, text: str) -> list[int]:
    return self.encode(text)

  def decode_continuation(self, prompt_ids, sample_ids) -> str:
    del prompt_ids  # texts concatenate: a continuation's text is its own
    return self.decode(sample_ids)


def hf_tokenizer(size: int):
  """The same vocabulary as a transformers fast tokenizer (WordLevel + Fuse decoder)."""
  import tokenizers  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel
  tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(
      {token_string(i): i for i in range(size)}, unk_token=SPECIAL))
  tk.pre_tokenizer = tokenizers.pre_tokenizers.Split(
      tokenizers.Regex(r"<\d+>|" + SPECIAL), behavior="isolated")
  tk.decoder = tokenizers.decoders.Fuse()
  return transformers.PreTrainedTokenizerFast(tokenizer_object=tk)


def pick_stop_token(cfg, params, mesh, vocab, rng, rate: float) -> int:
  """The token (id >= 3) whose per-step frequency in a pilot run is closest to `rate`."""
  from benchmarks import models  # pylint: disable=import-outside-toplevel
  from restem_jax.sampling.sampler import Sampler, SamplerConfig  # pylint: disable=import-outside-toplevel
  from restem_jax.sampling.strategies import SamplingParams  # pylint: disable=import-outside-toplevel
  prompts = [rng.integers(3, cfg.vocab_size, 32).astype(np.int32) for _ in range(8)]
  sampler = Sampler(cfg, vocab, SamplerConfig(prompt_buckets=(32,), max_new_tokens=48,
                                              prompts_per_batch=8, engine="repeat"),
                    mesh, models.RULES)
  out = sampler.sample(params, prompts, list(range(8)), 8,
                       SamplingParams(temperature=0.7, top_k=40), seed=123)
  freq = np.bincount(out.tokens.reshape(-1), minlength=cfg.vocab_size)[:cfg.vocab_size]
  freq = freq / out.tokens.size
  freq[:3] = np.inf
  return int(np.argmin(np.abs(freq - rate)))
