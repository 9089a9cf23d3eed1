"""A character-level `seqio.Vocabulary` for the toy models.

Implemented as a real `seqio.Vocabulary` so that the toy path and a SentencePiece
path (`seqio.SentencePieceVocabulary`) go through the same task, sampler and
trainer code. Ids follow the seqio convention: 0 = PAD, 1 = EOS, 2 = UNK, then one
id per character of `DEFAULT_CHARSET`.
"""

from __future__ import annotations

import string
from typing import Iterable, Sequence

import seqio

PAD_ID = 0
EOS_ID = 1
UNK_ID = 2
_NUM_SPECIAL = 3

# Printable ASCII without the form-feed/vertical-tab/carriage-return oddities.
DEFAULT_CHARSET = "\n" + "".join(c for c in string.printable if c not in "\r\x0b\x0c\n")


class CharVocabulary(seqio.Vocabulary):
  """One token per character; unknown characters map to UNK (decoded as '?')."""

  def __init__(self, charset: str = DEFAULT_CHARSET, extra_ids: int = 0):
    if len(set(charset)) != len(charset):
      raise ValueError("CharVocabulary charset has duplicate characters.")
    self._charset = charset
    self._char_to_id = {c: i + _NUM_SPECIAL for i, c in enumerate(charset)}
    super().__init__(extra_ids=extra_ids)

  @property
  def charset(self) -> str:
    return self._charset

  @property
  def eos_id(self) -> int:
    return EOS_ID

  @property
  def unk_id(self) -> int:
    return UNK_ID

  @property
  def _base_vocab_size(self) -> int:
    return _NUM_SPECIAL + len(self._charset)

  def _encode(self, s: str) -> Sequence[int]:
    return [self._char_to_id.get(c, UNK_ID) for c in s]

  def _decode(self, ids: Iterable[int]) -> str:
    out = []
    for i in ids:
      i = int(i)
      if i == EOS_ID:
        break
      if i == PAD_ID:
        continue
      if _NUM_SPECIAL <= i < self._base_vocab_size:
        out.append(self._charset[i - _NUM_SPECIAL])
      else:
        out.append("?")
    return "".join(out)

  def _encode_tf(self, s):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    table = self._tf_table()
    codepoints = tf.strings.unicode_decode(s, "UTF-8")
    return table.lookup(tf.cast(codepoints, tf.int64))

  def _decode_tf(self, ids):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    chars = tf.constant(["", "", "?"] + list(self._charset))
    ids = tf.where(ids >= len(self._charset) + _NUM_SPECIAL, UNK_ID, ids)
    return tf.strings.reduce_join(tf.gather(chars, ids), axis=-1)

  def _tf_table(self):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    keys = tf.constant([ord(c) for c in self._charset], dtype=tf.int64)
    values = tf.constant(list(self._char_to_id.values()), dtype=tf.int64)
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, values), default_value=UNK_ID)

  def __eq__(self, other):
    return isinstance(other, CharVocabulary) and other.charset == self._charset

  def __hash__(self):
    return hash(self._charset)
