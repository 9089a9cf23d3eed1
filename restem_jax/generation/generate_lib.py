"""Samples N continuations of every prompt of a JSONL file from a self-describing checkpoint.

The architecture and tokenizer come from CKPT (restem_jax.checkpoint.model_checkpoint);
prompts are encoded with the tokenizer's BOS rule, or (`messages` lines) rendered with CKPT's
chat template (generation/prompt_encoding.py), and samples decoded as continuations,
by the project's own Sampler (the E-step's compiled, KV-cached decode loop).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Callable

import numpy as np

from restem_jax import io
from restem_jax import vocab as vocab_lib
from restem_jax.checkpoint import model_checkpoint
from restem_jax.generation import jsonl_io
from restem_jax.generation import prompt_encoding
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
  checkpoint: str
  input: str
  output: str
  num_samples: int = 1
  max_new_tokens: int = 128
  temperature: float = 1.0   # 0 = greedy
  top_k: int = 0             # 0 = off
  top_p: float = 1.0         # 1 = off
  seed: int = 0
  prompts_per_batch: int = 8

  def __post_init__(self):
    for name in ("num_samples", "max_new_tokens", "prompts_per_batch"):
      if getattr(self, name) < 1:
        raise ValueError(f"--{name}={getattr(self, name)} must be >= 1.")


def prompt_buckets(lengths, max_len: int, max_new_tokens: int) -> tuple[int, ...]:
  """Powers of two (>= 16) covering every prompt; an error when one cannot fit the model."""
  longest = max(lengths)
  if longest + max_new_tokens > max_len:
    raise ValueError(f"a prompt of {longest} tokens + --max_new_tokens={max_new_tokens} exceeds "
                     f"the checkpoint's max_len={max_len}.")
  buckets = {max(16, 1 << (int(n) - 1).bit_length()) for n in lengths}
  return tuple(sorted(min(b, max_len - max_new_tokens) for b in buckets))


def load_vocab(ckpt: str):
  tok_dir = model_checkpoint.tokenizer_dir(ckpt)
  return vocab_lib.load(tok_dir or "")


def run(cfg: GenerateConfig, records: list[dict] | None = None,
        progress: Callable[[int], object] | None = None) -> int:
  """Writes cfg.output; returns the number of records. `progress(n)` after each batch.

  `records` are cfg.input's (jsonl_io.read_prompts), read here when not given.
  """
  records = jsonl_io.read_prompts(cfg.input) if records is None else records
  model_cfg = model_checkpoint.read_model_config(cfg.checkpoint)
  vocab = load_vocab(cfg.checkpoint)
  if model_cfg.vocab_size < vocab.vocab_size:
    raise ValueError(f"checkpoint {cfg.checkpoint}: model vocab_size={model_cfg.vocab_size} is "
                     f"smaller than its tokenizer's ({vocab.vocab_size}).")
  sampling = SamplingParams(temperature=cfg.temperature, top_k=cfg.top_k, top_p=cfg.top_p)
  encoding = prompt_encoding.for_records(records, vocab, cfg.checkpoint)
  encoded = prompt_encoding.encode_all(encoding, records, f"--input={cfg.input}")
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
  rules = partitioning.DEFAULT_RULES
  params, _ = model_checkpoint.restore(cfg.checkpoint, model_cfg, mesh, rules)
  buckets = prompt_buckets([len(e) for e in encoded], model_cfg.max_len, cfg.max_new_tokens)
  sampler = Sampler(model_cfg, vocab, SamplerConfig(prompt_buckets=buckets,
                                                    max_new_tokens=cfg.max_new_tokens,
                                                    prompts_per_batch=cfg.prompts_per_batch),
                    mesh, rules)
  lines = []
  for start in range(0, len(records), cfg.prompts_per_batch):
    idx = list(range(start, min(start + cfg.prompts_per_batch, len(records))))
    out = sampler.sample(params, [encoded[i] for i in idx], idx, cfg.num_samples, sampling,
                         seed=cfg.seed, stop_sequences=encoding.stop_sequences)
    for j, i in enumerate(idx):
      n_len = out.lengths[j]
      lines.append(json.dumps(jsonl_io.result_record(
          records[i], encoded[i], [encoding.sample_text(t) for t in out.texts[j]],
          [out.tokens[j, n, :n_len[n]] for n in range(cfg.num_samples)],
          [out.logprobs[j, n, :n_len[n]] for n in range(cfg.num_samples)]), ensure_ascii=False))
    if progress is not None:
      progress(len(idx))
  io.write_text_atomic(cfg.output, "\n".join(lines) + "\n")
  return len(lines)
