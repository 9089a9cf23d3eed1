"""The toy character vocabulary with the restem contract (no BOS, EOS = 1, pad = 0).

Wraps `restem_jax.data.char_vocab.CharVocabulary` unchanged, so the toy loop's ids and
texts stay bit-identical. Characters decode one id at a time, so a sample decodes the
same with or without its prompt: decode_continuation is decode(sample).
"""

from __future__ import annotations

from typing import Sequence

from restem_jax.data import char_vocab


class CharVocabulary(char_vocab.CharVocabulary):
  """CharVocabulary + bos_id/add_bos/stop_ids/encode_prompt/decode_continuation."""

  bos_id = None
  add_bos = False

  @property
  def stop_ids(self) -> frozenset[int]:
    return frozenset({char_vocab.EOS_ID})

  def encode_prompt(self, text: str) -> list[int]:
    return list(self.encode(text))

  def decode_continuation(self, prompt_ids: Sequence[int], sample_ids: Sequence[int]) -> str:
    del prompt_ids  # one id per character: no piece spans the prompt/sample boundary
    return self.decode([int(i) for i in sample_ids])
