"""What every restem vocabulary adds to `seqio.Vocabulary`: BOS, stop ids, prompts, continuations.

The contract (docs/models.md, "Tokenizers"):
  bos_id       the BOS id, or None when the tokenizer has none.
  add_bos      True when the tokenizer's own configuration prepends BOS to a text.
  eos_id       the primary EOS id: appended to SFT/E-step targets so the policy learns to stop.
  stop_ids     every id that ends a sample (e.g. the eos_token_id list of a Llama-3-Instruct
               generation_config.json); contains eos_id.
  pad_id       the filler id written into padded positions. Padding is always masked by
               lengths/segment ids (sampler: left padding + prompt lengths; trainer: segment
               ids), so its value never changes a result; it may coincide with a real token
               (id 0 is '<unk>' or '<|endoftext|>' in many real tokenizers). It is 0 everywhere.
  encode_prompt(text)                      ids the model continues: BOS exactly where the
                                           tokenizer's config adds it, never EOS.
  decode_continuation(prompt_ids, ids)     decode(prompt + ids)[len(decode(prompt)):], with a
                                           trailing stop id removed. Decoding `ids` alone loses
                                           the leading space that SentencePiece and byte-level BPE
                                           fold into a piece ('▁▁▁▁return' -> '   return').
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import seqio

PAD_ID = 0


class ContinuationVocabulary(seqio.Vocabulary):
  """Mixin-style base: subclasses set `_bos_id`, `_add_bos`, `_eos_id`, `_stop_ids`.

  Subclasses implement `_encode`/`_decode` (plain Python); the TF ops wrap them with
  `tf.numpy_function`, so seqio pipelines work too (slowly; nothing here uses them).
  """

  _bos_id: int | None = None
  _add_bos: bool = False
  _eos_id: int | None = None
  _stop_ids: frozenset[int] = frozenset()

  @property
  def bos_id(self) -> int | None:
    return self._bos_id

  @property
  def add_bos(self) -> bool:
    return self._add_bos

  @property
  def eos_id(self) -> int:
    return self._eos_id

  @property
  def stop_ids(self) -> frozenset[int]:
    return self._stop_ids

  @property
  def pad_id(self) -> int:
    return PAD_ID

  def encode_prompt(self, text: str) -> list[int]:
    ids = [int(i) for i in self.encode(text)]
    return [self._bos_id] + ids if self._add_bos else ids

  def decode_continuation(self, prompt_ids: Sequence[int], sample_ids: Sequence[int]) -> str:
    sample = [int(i) for i in sample_ids]
    if sample and sample[-1] in self._stop_ids:
      sample = sample[:-1]
    # A model whose embedding has more rows than the tokenizer can sample an id no piece
    # has; it decodes to nothing (as the char vocab's '?' would be wrong here too).
    sample = [i for i in sample if 0 <= i < self._base_vocab_size]
    prompt = [int(i) for i in prompt_ids]
    return self._decode(prompt + sample)[len(self._decode(prompt)):]

  def _encode_tf(self, s):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    fn = lambda x: np.asarray(self._encode(x.decode("utf-8")), np.int32)
    out = tf.numpy_function(fn, [s], tf.int32, stateful=False)
    out.set_shape([None])
    return out

  def _decode_tf(self, ids):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    fn = lambda x: np.asarray(self._decode([int(i) for i in x if i != PAD_ID]).encode("utf-8"),
                              dtype=object)
    out = tf.numpy_function(fn, [ids], tf.string, stateful=False)
    out.set_shape([])
    return out


def encode_target(vocab, prompt_text: str, prompt_ids: Sequence[int], text: str) -> list[int]:
  """Ids of `text` as a continuation of the prompt, without BOS or EOS.

  The ids `encode_prompt(prompt_text + text)` has after `prompt_ids` when they extend it:
  what a model reading the prompt emits, with no SentencePiece dummy-prefix space added
  to the first piece. Else (byte-level BPE may merge a prompt's final newline with the
  next indent) `encode(text)`, whose pieces decode to `text` after the prompt.
  """
  prompt_ids = [int(i) for i in prompt_ids]
  full = [int(i) for i in vocab.encode_prompt(prompt_text + text)]
  if full[:len(prompt_ids)] == prompt_ids:
    return full[len(prompt_ids):]
  return [int(i) for i in vocab.encode(text)]


def check_special_ids(source: str, vocab_size: int, bos_id: int | None, eos_id: int | None,
                      stop_ids: Iterable[int]) -> frozenset[int]:
  """Validates the special ids of tokenizer `source`; returns the stop set (eos_id included)."""
  if eos_id is None or eos_id < 0:
    raise ValueError(f"tokenizer {source!r} defines no EOS token, so samples could never stop "
                     "and targets could not end; set eos_token in its tokenizer_config.json.")
  stops = frozenset(int(i) for i in stop_ids) | {int(eos_id)}
  for name, i in [("bos", bos_id)] + [("eos/stop", s) for s in sorted(stops)]:
    if i is not None and not 0 <= i < vocab_size:
      raise ValueError(f"tokenizer {source!r}: {name} id {i} is outside its vocabulary of "
                       f"{vocab_size} ids.")
  return stops
