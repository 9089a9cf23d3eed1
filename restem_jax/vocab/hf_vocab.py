"""A Hugging Face fast tokenizer (`tokenizer.json`, the `tokenizers` library) as a Vocabulary.

Also the backend of the GGUF vocabulary (transformers converts the GGUF-embedded vocab to
a `tokenizers.Tokenizer`). BOS is added when tokenizer.json's post-processor adds it: like
transformers 5's `AutoTokenizer`, tokenizer_config.json's add_bos_token is ignored when a
tokenizer.json exists (Llama-3 repos add <|begin_of_text|> in the post-processor). Prompts
never get the post-processor's other tokens (EOS, SEP).
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence

import tokenizers

from restem_jax.vocab import base
from restem_jax.vocab import hf_config


def post_processor_adds_bos(tok: tokenizers.Tokenizer, bos_id: int | None) -> bool:
  if bos_id is None:
    return False
  with_special = tok.encode("a", add_special_tokens=True).ids
  return bool(with_special) and with_special[0] == bos_id and \
      tok.encode("a", add_special_tokens=False).ids[:1] != [bos_id]


class HFVocabulary(base.ContinuationVocabulary):
  """Wraps a `tokenizers.Tokenizer` plus the special ids its configuration names."""

  def __init__(self, tokenizer: tokenizers.Tokenizer, *, source: str, bos_id: int | None,
               eos_id: int | None, add_bos: bool, stop_ids: Iterable[int] = ()):
    self._tok = tokenizer
    self._source = source
    self._size = tokenizer.get_vocab_size(with_added_tokens=True)
    self._stop_ids = base.check_special_ids(source, self._size, bos_id, eos_id, stop_ids)
    self._bos_id, self._eos_id = bos_id, int(eos_id)
    if add_bos and bos_id is None:
      raise ValueError(f"tokenizer {source!r} says add_bos_token but names no bos_token.")
    self._add_bos = bool(add_bos)
    super().__init__(extra_ids=0)

  @classmethod
  def from_dir(cls, directory: str) -> "HFVocabulary":
    path = os.path.join(directory, "tokenizer.json")
    try:
      tok = tokenizers.Tokenizer.from_file(path)
    except Exception as e:  # the library raises a bare Exception for malformed files
      raise ValueError(f"tokenizer file {path!r} could not be read by `tokenizers`: {e}") from e
    special = hf_config.read(directory)
    bos_id, eos_id = hf_config.resolve_ids(directory, special, tok.token_to_id)
    return cls(tok, source=directory, bos_id=bos_id, eos_id=eos_id,
               add_bos=post_processor_adds_bos(tok, bos_id),
               stop_ids=special.generation_eos_ids)

  @property
  def tokenizer(self) -> tokenizers.Tokenizer:
    return self._tok

  @property
  def unk_id(self) -> int | None:
    return None

  @property
  def _base_vocab_size(self) -> int:
    return self._size

  def _encode(self, s: str) -> Sequence[int]:
    return self._tok.encode(s, add_special_tokens=False).ids

  def _decode(self, ids) -> str:
    return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)

  def __eq__(self, other):
    return isinstance(other, HFVocabulary) and other._tok.to_str() == self._tok.to_str() and \
        (other._bos_id, other._eos_id, other._add_bos, other._stop_ids) == \
        (self._bos_id, self._eos_id, self._add_bos, self._stop_ids)

  def __hash__(self):
    return hash((self._source, self._size, self._eos_id))

  def __repr__(self):
    return f"HFVocabulary({self._source!r}, size={self._size}, bos={self._bos_id}, " \
           f"add_bos={self._add_bos}, eos={self._eos_id}, stop={sorted(self._stop_ids)})"
