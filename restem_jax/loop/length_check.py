"""Sequence-length checks: at config time (before any expensive stage) and per prompt.

A kept sample is trained as prompt + sampled ids in one packed row, so a row must hold
the longest prompt the sampler accepts (its largest bucket) plus `max_new_tokens` and
one more position; the model's `max_len` must cover sampling (bucket + new tokens) and
training (`train.seq_len`). A run whose lengths do not add up is refused with the field
names and values, instead of silently cutting prompts later. At run time, a prompt that
does not fit the largest bucket is skipped and counted (`split_long_prompts`), never a
crash of the whole E-step or evaluation.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from absl import logging

from restem_jax.checkpoint import model_checkpoint
from restem_jax.tasks.problem import Problem


def check_lengths(*, seq_len: int, prompt_buckets: Sequence[int], max_new_tokens: int,
                  max_len: int, model_section: str = "model") -> None:
  """Raises ValueError naming the config fields whose lengths do not fit together."""
  bucket = max(prompt_buckets)
  problems = []
  if seq_len < bucket + max_new_tokens + 1:
    problems.append(
        f"train.seq_len={seq_len} < max(sampler.prompt_buckets)={bucket} + "
        f"sampler.max_new_tokens={max_new_tokens} + 1 = {bucket + max_new_tokens + 1} "
        "(a kept sample of a longest prompt would not fit a training row)")
  if max_len < bucket + max_new_tokens:
    problems.append(
        f"{model_section}.max_len={max_len} < max(sampler.prompt_buckets)={bucket} + "
        f"sampler.max_new_tokens={max_new_tokens} = {bucket + max_new_tokens}")
  if max_len < seq_len:
    problems.append(f"{model_section}.max_len={max_len} < train.seq_len={seq_len}")
  if problems:
    raise ValueError("config lengths do not fit together: " + "; ".join(problems) + ".")


def check_config(c, model_cfg=None) -> None:
  """`check_lengths` for the policy model and, in distill mode, the teacher.

  `model_cfg`: the run's ModelConfig (config.model merged with the base checkpoint's
  model_config.json, where a None field comes from); default: config.model as written.
  """
  s = c.sampler
  check_lengths(seq_len=c.train.seq_len, prompt_buckets=tuple(s.prompt_buckets),
                max_new_tokens=s.max_new_tokens,
                max_len=c.model.max_len if model_cfg is None else model_cfg.max_len)
  if c.loop.mode == "distill":
    max_len = c.teacher.model.max_len
    if max_len is None and c.teacher.checkpoint:  # unset: the teacher checkpoint's
      max_len = model_checkpoint.model_config_for(
          dataclasses.asdict(c.teacher.model), c.teacher.checkpoint,
          section="teacher.model").max_len
    if max_len is not None and max_len < max(s.prompt_buckets) + s.max_new_tokens:
      raise ValueError(f"config lengths do not fit together: teacher.model.max_len={max_len} "
                       f"< max(sampler.prompt_buckets)={max(s.prompt_buckets)} + "
                       f"sampler.max_new_tokens={s.max_new_tokens}.")


def prompt_fits(sampler, problem: Problem) -> bool:
  """Whether the sampler has a bucket for this problem's prompt ids."""
  try:
    sampler.bucket_for(len(sampler.encode_problem(problem)))
  except ValueError:
    return False
  return True


def split_long_prompts(problems: Sequence[Problem], sampler, what: str = ""
                       ) -> tuple[list[Problem], list[Problem]]:
  """(problems whose prompt fits the largest bucket, the skipped rest); warns when any."""
  fit, skipped = [], []
  for p in problems:
    (fit if prompt_fits(sampler, p) else skipped).append(p)
  if skipped:
    logging.warning("%s: skipped %d of %d problems whose prompt is longer than the largest "
                    "prompt bucket (first: %s); raise sampler.prompt_buckets to keep them.",
                    what or "problems", len(skipped), len(problems), skipped[0].id)
  return fit, skipped
