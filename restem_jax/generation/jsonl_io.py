"""The generate CLI's JSONL records: read prompts (errors name the line), write results."""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np

from restem_jax import io


def read_prompts(path: str) -> list[dict]:
  """The JSON objects of `path`, one a line, each with a non-empty string `prompt`."""
  if not io.exists(path):
    raise FileNotFoundError(f"--input={path}: no such file.")
  records = []
  for n, line in enumerate(io.read_text(path).splitlines(), start=1):
    if not line.strip():
      continue
    try:
      rec = json.loads(line)
    except ValueError as e:
      raise ValueError(f"{path}:{n}: not valid JSON ({e}).") from e
    if not isinstance(rec, dict):
      raise ValueError(f"{path}:{n}: expected a JSON object with a 'prompt', got "
                       f"{type(rec).__name__}.")
    prompt = rec.get("prompt")
    if not isinstance(prompt, str) or not prompt:
      raise ValueError(f"{path}:{n}: 'prompt' must be a non-empty string, got {prompt!r}.")
    for key in ("prompt_tokens", "samples"):
      if key in rec:
        raise ValueError(f"{path}:{n}: field {key!r} is an output field of generate.")
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
