"""A SentencePiece model as a Vocabulary (seqio's SentencePieceVocabulary plus the contract).

A bare `.model` file adds no BOS (SentencePiece's own default, and what the toy
`config.task.vocab` path always did). A directory holding tokenizer.model and a
tokenizer_config.json takes add_bos_token/bos_token/eos_token from it (a Llama/Mistral
layout); generation_config.json's eos ids become stop ids.
"""

from __future__ import annotations

import os

import seqio

from restem_jax.vocab import base
from restem_jax.vocab import hf_config


class SentencePieceVocabulary(base.ContinuationVocabulary, seqio.SentencePieceVocabulary):
  """seqio.SentencePieceVocabulary with bos/add_bos/stop_ids and continuation decoding."""

  def __init__(self, model_file: str, *, add_bos: bool = False,
               special: hf_config.SpecialTokens | None = None):
    seqio.SentencePieceVocabulary.__init__(self, model_file)
    sp = self.tokenizer
    piece_id = lambda t: sp.piece_to_id(t) if sp.id_to_piece(sp.piece_to_id(t)) == t else None
    bos_id = sp.bos_id() if sp.bos_id() >= 0 else None
    eos_id = sp.eos_id() if sp.eos_id() >= 0 else None
    stops = ()
    if special is not None:
      named_bos, named_eos = hf_config.resolve_ids(model_file, special, piece_id)
      bos_id = named_bos if special.bos_token else bos_id
      eos_id = named_eos if named_eos is not None else eos_id
      stops = special.generation_eos_ids
      if special.add_bos_token is not None:
        add_bos = special.add_bos_token
    self._stop_ids = base.check_special_ids(model_file, sp.GetPieceSize(), bos_id, eos_id, stops)
    if add_bos and bos_id is None:
      raise ValueError(f"SentencePiece model {model_file!r} has no BOS piece but add_bos is set.")
    self._bos_id, self._eos_id, self._add_bos = bos_id, int(eos_id), bool(add_bos)

  @classmethod
  def from_dir(cls, directory: str) -> "SentencePieceVocabulary":
    return cls(os.path.join(directory, "tokenizer.model"), special=hf_config.read(directory))

  # seqio's own properties would shadow the contract's; take ours.
  bos_id = base.ContinuationVocabulary.bos_id
  eos_id = base.ContinuationVocabulary.eos_id
  pad_id = base.ContinuationVocabulary.pad_id
  _encode_tf = seqio.SentencePieceVocabulary._encode_tf
  _decode_tf = seqio.SentencePieceVocabulary._decode_tf
