"""The generate CLI's JSONL records: read prompts or chat messages (errors name the line), write
results."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from restem_jax import io
from restem_jax.io import jsonl


def _check_messages(where: str, rec: dict) -> None:
  messages = rec["messages"]
  if not isinstance(messages, list) or not messages:
    raise ValueError(f"{where}: 'messages' must be a non-empty list of {{'role', 'content'}} "
                     f"objects, got {messages!r}.")
  for i, m in enumerate(messages):
    if not isinstance(m, dict) or not isinstance(m.get("role"), str):
      raise ValueError(f"{where}: messages[{i}] must be an object with a string 'role' (and "
                       f"'content'), got {m!r}.")
  kwargs = rec.get("chat_template_kwargs", {})
  if not isinstance(kwargs, dict):
    raise ValueError(f"{where}: 'chat_template_kwargs' must be an object, got {kwargs!r}.")


def _check_record(where: str, rec: dict) -> str:
  """Validates one input object; returns its kind, 'prompt' or 'messages'."""
  for key in ("prompt_tokens", "samples"):
    if key in rec:
      raise ValueError(f"{where}: field {key!r} is an output field of generate.")
  if "messages" in rec:
    if "prompt" in rec:
      raise ValueError(f"{where}: give either 'prompt' or 'messages', not both.")
    _check_messages(where, rec)
    return "messages"
  prompt = rec.get("prompt")
  if not isinstance(prompt, str) or not prompt:
    raise ValueError(f"{where}: 'prompt' must be a non-empty string, got {prompt!r} (or give "
                     "'messages' for a chat prompt).")
  return "prompt"


def read_prompts(path: str) -> list[dict]:
  """The JSON objects of `path`, one a line: each with a non-empty string `prompt`, or (chat)
  a non-empty `messages` list (+ optional `chat_template_kwargs`); one kind per file."""
  if not io.exists(path):
    raise FileNotFoundError(f"--input={path}: no such file.")
  try:
    rows = jsonl.read_objects(path)
  except jsonl.JsonlLineError as e:
    raise ValueError(f"{e.path}:{e.line}: {e.reason}") from e
  records, first = [], {}
  for n, rec in rows:
    kind = _check_record(f"{path}:{n}", rec)
    first.setdefault(kind, n)
    if len(first) > 1:
      other = next(k for k in first if k != kind)
      raise ValueError(f"{path}:{n}: has {kind!r} but line {first[other]} has {other!r}; a file "
                       "holds either plain prompts or chat messages (split it in two).")
    records.append(rec)
  if not records:
    raise ValueError(f"--input={path}: no prompts.")
  return records


def result_record(rec: dict, prompt_tokens: np.ndarray, texts: Sequence[str],
                  tokens: Sequence[np.ndarray], logprobs: Sequence[np.ndarray]) -> dict:
  """The input record plus prompt_tokens and samples [{text, tokens, logprobs}]."""
  samples = [{"text": t, "tokens": [int(i) for i in ids], "logprobs": [float(x) for x in lp]}
             for t, ids, lp in zip(texts, tokens, logprobs)]
  return {**rec, "prompt_tokens": [int(i) for i in prompt_tokens], "samples": samples}
