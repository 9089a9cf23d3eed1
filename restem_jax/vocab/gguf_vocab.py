"""The vocabulary embedded in a GGUF file, via transformers' GGUF tokenizer converter.

`AutoTokenizer.from_pretrained(dir, gguf_file=name)` rebuilds a `tokenizers.Tokenizer`
from the GGUF metadata (tokenizer.ggml.*), so no BPE is written by hand here. Stop ids
add the GGUF's end-of-turn/end-of-message ids to its EOS. Needs `transformers` and `gguf`
(the `convert` extra).
"""

from __future__ import annotations

import os

from restem_jax.vocab import hf_vocab

_STOP_KEYS = ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
              "tokenizer.ggml.eom_token_id")


def _gguf_stop_ids(path: str) -> list[int]:
  import gguf  # pylint: disable=g-import-not-at-top
  reader = gguf.GGUFReader(path)
  out = []
  for key in _STOP_KEYS:
    field = reader.get_field(key)
    if field is not None:
      out.append(int(field.contents()))
  return out


def load(path: str) -> hf_vocab.HFVocabulary:
  try:
    from transformers import AutoTokenizer  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(f"reading the vocabulary of {path!r} needs transformers and gguf: "
                      "pip install -e '.[convert]'") from e
  try:
    tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(path)),
                                        gguf_file=os.path.basename(path))
  except Exception as e:  # transformers raises many types for unsupported GGUF tokenizers
    raise ValueError(f"GGUF file {path!r}: transformers could not build its tokenizer: "
                     f"{type(e).__name__}: {e}") from e
  return from_transformers(tok, path)


def from_transformers(tok, path: str) -> hf_vocab.HFVocabulary:
  """The vocabulary of `tok`, a transformers tokenizer built from the GGUF file `path`."""
  with_special = tok("a").input_ids
  without = tok("a", add_special_tokens=False).input_ids
  bos_id = tok.bos_token_id
  add_bos = bos_id is not None and with_special == [bos_id] + without
  return hf_vocab.HFVocabulary(tok.backend_tokenizer, source=path, bos_id=bos_id,
                               eos_id=tok.eos_token_id, add_bos=add_bos,
                               stop_ids=_gguf_stop_ids(path))
