"""A tiktoken ranks file (Qwen's qwen.tiktoken, Llama-3's original tokenizer.model) as a Vocabulary.

A ranks file holds only the mergeable byte sequences ("<base64> <rank>" per line); the
special tokens and the pre-tokenisation regex live in the model's code. They come from a
tokenizer_config.json beside the file: `added_tokens_decoder` (id -> special token, as
Hugging Face writes it), `bos_token`, `eos_token`, `add_bos_token`, and `pat_str` (the
tiktoken regex; default: the Llama-3 / cl100k pattern that transformers' TikTokenConverter
also assumes). generation_config.json's eos ids become stop ids.
"""

from __future__ import annotations

import os
from typing import Sequence

import tiktoken
from tiktoken import load as tiktoken_load

from restem_jax.vocab import base
from restem_jax.vocab import hf_config

LLAMA3_PAT_STR = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def is_ranks_file(path: str) -> bool:
  """True when the file's first line is '<base64> <int>' (a tiktoken ranks file)."""
  try:
    with open(path, "rb") as f:
      first = f.readline(4096).split()
  except OSError:
    return False
  return len(first) == 2 and first[1].isdigit() and all(
      c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=" for c in first[0])


class TiktokenVocabulary(base.ContinuationVocabulary):
  """tiktoken.Encoding over a ranks file plus its special tokens."""

  def __init__(self, ranks_file: str, special: hf_config.SpecialTokens):
    directory = os.path.dirname(os.path.abspath(ranks_file))
    if not special.added_tokens:
      raise ValueError(f"tiktoken ranks file {ranks_file!r}: a ranks file does not name its "
                       f"special tokens (EOS...); add a tokenizer_config.json in {directory!r} "
                       "with added_tokens_decoder, eos_token (and bos_token, add_bos_token, pat_str).")
    ranks = tiktoken_load.load_tiktoken_bpe(ranks_file)
    specials = {content: i for i, content in special.added_tokens.items()}
    self._source = ranks_file
    self._enc = tiktoken.Encoding(
        os.path.basename(ranks_file), pat_str=special.extra.get("pat_str", LLAMA3_PAT_STR),
        mergeable_ranks=ranks, special_tokens=specials)
    self._size = max(max(ranks.values()), max(specials.values())) + 1
    bos_id, eos_id = hf_config.resolve_ids(ranks_file, special, specials.get)
    self._stop_ids = base.check_special_ids(ranks_file, self._size, bos_id, eos_id,
                                            special.generation_eos_ids)
    self._bos_id, self._eos_id = bos_id, int(eos_id)
    if special.add_bos_token and bos_id is None:
      raise ValueError(f"tiktoken ranks file {ranks_file!r}: add_bos_token is set but no "
                       "bos_token is named.")
    self._add_bos = bool(special.add_bos_token)
    super().__init__(extra_ids=0)

  @classmethod
  def from_file(cls, ranks_file: str) -> "TiktokenVocabulary":
    return cls(ranks_file, hf_config.read(os.path.dirname(os.path.abspath(ranks_file))))

  @property
  def encoding(self) -> tiktoken.Encoding:
    return self._enc

  @property
  def unk_id(self) -> int | None:
    return None

  @property
  def _base_vocab_size(self) -> int:
    return self._size

  def _encode(self, s: str) -> Sequence[int]:
    # Special-token text in a prompt or document is encoded as the special token, as
    # transformers does for added tokens.
    return self._enc.encode(s, allowed_special="all")

  def _decode(self, ids) -> str:
    return self._enc.decode([int(i) for i in ids], errors="replace")

  def __eq__(self, other):
    return isinstance(other, TiktokenVocabulary) and other._source == self._source

  def __hash__(self):
    return hash(self._source)

  def __repr__(self):
    return f"TiktokenVocabulary({self._source!r}, size={self._size}, bos={self._bos_id}, " \
           f"add_bos={self._add_bos}, eos={self._eos_id}, stop={sorted(self._stop_ids)})"
