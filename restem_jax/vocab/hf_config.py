"""BOS/EOS/stop ids from a Hugging Face tokenizer directory's JSON files.

Read in the order transformers reads them: tokenizer_config.json (bos_token, eos_token,
add_bos_token, added_tokens_decoder), then special_tokens_map.json for tokens the first
leaves out; generation_config.json's eos_token_id (an int or a list: Llama-3-Instruct lists
<|end_of_text|>, <|eom_id|>, <|eot_id|>) adds stop ids.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable


@dataclasses.dataclass(frozen=True)
class SpecialTokens:
  bos_token: str | None
  eos_token: str | None
  add_bos_token: bool | None       # None: the config does not say
  generation_eos_ids: tuple[int, ...]
  added_tokens: dict[int, str]     # id -> content, from added_tokens_decoder
  extra: dict[str, Any]            # the whole tokenizer_config.json


def _read_json(path: str) -> dict:
  if not os.path.isfile(path):
    return {}
  try:
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError(f"tokenizer file {path!r} is not valid JSON: {e}") from e
  if not isinstance(data, dict):
    raise ValueError(f"tokenizer file {path!r} must hold a JSON object.")
  return data


def _content(token) -> str | None:
  if isinstance(token, dict):
    return token.get("content")
  return token if isinstance(token, str) else None


def read(directory: str) -> SpecialTokens:
  cfg = _read_json(os.path.join(directory, "tokenizer_config.json"))
  smap = _read_json(os.path.join(directory, "special_tokens_map.json"))
  gen = _read_json(os.path.join(directory, "generation_config.json"))
  bos = _content(cfg.get("bos_token")) or _content(smap.get("bos_token"))
  eos = _content(cfg.get("eos_token")) or _content(smap.get("eos_token"))
  gen_eos = gen.get("eos_token_id")
  gen_eos = () if gen_eos is None else tuple(gen_eos) if isinstance(gen_eos, list) else (gen_eos,)
  added = {int(i): _content(t) for i, t in (cfg.get("added_tokens_decoder") or {}).items()}
  add_bos = cfg.get("add_bos_token")
  return SpecialTokens(bos, eos, None if add_bos is None else bool(add_bos),
                       tuple(int(i) for i in gen_eos), added, cfg)


def resolve_ids(source: str, tokens: SpecialTokens,
                token_to_id: Callable[[str], int | None]) -> tuple[int | None, int | None]:
  """(bos_id, eos_id) of the named tokens; an error when a named token is not in the vocab."""
  ids = []
  for name, tok in (("bos_token", tokens.bos_token), ("eos_token", tokens.eos_token)):
    i = None if tok is None else token_to_id(tok)
    if tok is not None and i is None:
      raise ValueError(f"tokenizer {source!r}: {name} {tok!r} is not in its vocabulary.")
    ids.append(i)
  bos_id, eos_id = ids
  if eos_id is None and tokens.generation_eos_ids:
    eos_id = tokens.generation_eos_ids[0]
  return bos_id, eos_id
