"""Tokenizers: every kind is a `seqio.Vocabulary` with the restem contract (see base.py).

`load(path)` picks the kind from what is at `path`:
  ''                                   the toy char vocabulary (no BOS, EOS 1)
  a directory with tokenizer.json      Hugging Face fast tokenizer (+ tokenizer_config.json,
                                       special_tokens_map.json, generation_config.json)
  a directory with tokenizer.model     SentencePiece (or tiktoken ranks, by content)
  a directory with one *.tiktoken      tiktoken ranks + tokenizer_config.json
  a .gguf file                         the vocabulary embedded in it (transformers' converter)
  a .model / .tiktoken / other file    SentencePiece or tiktoken ranks, by content
"""

from __future__ import annotations

import glob
import os

from restem_jax.vocab.base import ContinuationVocabulary, PAD_ID, encode_target
from restem_jax.vocab.char import CharVocabulary

_KINDS_HELP = ("expected '' (char vocab), a SentencePiece .model, a .gguf file, a tiktoken ranks "
               "file, or a directory with tokenizer.json or tokenizer.model")


def _load_model_file(path: str):
  from restem_jax.vocab import tiktoken_vocab  # pylint: disable=g-import-not-at-top
  if tiktoken_vocab.is_ranks_file(path):
    return tiktoken_vocab.TiktokenVocabulary.from_file(path)
  from restem_jax.vocab import sentencepiece_vocab  # pylint: disable=g-import-not-at-top
  try:
    import sentencepiece as spm  # pylint: disable=g-import-not-at-top
    spm.SentencePieceProcessor(model_file=path)
  except (RuntimeError, OSError) as e:
    raise ValueError(f"tokenizer file {path!r} is neither a SentencePiece model nor a tiktoken "
                     f"ranks file ({e}); {_KINDS_HELP}.") from e
  directory = os.path.dirname(os.path.abspath(path))
  if os.path.basename(path) == "tokenizer.model" and os.path.isfile(
      os.path.join(directory, "tokenizer_config.json")):
    return sentencepiece_vocab.SentencePieceVocabulary.from_dir(directory)
  return sentencepiece_vocab.SentencePieceVocabulary(path)


def _load_dir(path: str):
  if os.path.isfile(os.path.join(path, "tokenizer.json")):
    from restem_jax.vocab import hf_vocab  # pylint: disable=g-import-not-at-top
    return hf_vocab.HFVocabulary.from_dir(path)
  if os.path.isfile(os.path.join(path, "tokenizer.model")):
    return _load_model_file(os.path.join(path, "tokenizer.model"))
  ranks = sorted(glob.glob(os.path.join(path, "*.tiktoken")))
  if len(ranks) == 1:
    return _load_model_file(ranks[0])
  raise ValueError(f"tokenizer directory {path!r} holds no tokenizer.json, tokenizer.model or "
                   f"single *.tiktoken file (found {sorted(os.listdir(path))[:10]}); {_KINDS_HELP}.")


def load(path: str) -> ContinuationVocabulary | CharVocabulary:
  """The vocabulary at `path` (see the module docstring for the kinds)."""
  if not path:
    return CharVocabulary()
  if os.path.isdir(path):
    return _load_dir(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"tokenizer {path!r}: no such file or directory; {_KINDS_HELP}.")
  if path.endswith(".gguf"):
    from restem_jax.vocab import gguf_vocab  # pylint: disable=g-import-not-at-top
    return gguf_vocab.load(path)
  if path.endswith(".json") and "tekken" in os.path.basename(path):
    raise ValueError(f"tokenizer {path!r}: Mistral Tekken files are not supported; use the "
                     "directory of the model's Hugging Face tokenizer.json instead.")
  if path.endswith(".json"):
    raise ValueError(f"tokenizer {path!r}: pass the directory holding tokenizer.json (its "
                     "tokenizer_config.json names BOS/EOS), not the file.")
  return _load_model_file(path)


def ensure(v):
  """`v` with the restem contract: a plain toy CharVocabulary is wrapped, others must have it."""
  if hasattr(v, "encode_prompt") and hasattr(v, "decode_continuation"):
    return v
  from restem_jax.data import char_vocab  # pylint: disable=g-import-not-at-top
  if isinstance(v, char_vocab.CharVocabulary):
    return CharVocabulary(v.charset, extra_ids=v.extra_ids)
  raise TypeError(f"{type(v).__name__} lacks encode_prompt/decode_continuation; build "
                  "vocabularies with restem_jax.vocab.load.")


__all__ = ["load", "ensure", "encode_target", "ContinuationVocabulary", "CharVocabulary", "PAD_ID"]
