"""Distillation from a finished run's E-step data (the paper's Distill*, Figure 6).

`--config.teacher.estep_dir=DIR` makes the distill E-step read kept samples instead of
sampling a teacher: DIR is a finished run's directory (its last `iter_i/estep` is used)
or one iteration's `estep` directory. Only problems of the current train split are used
(ids are stable across runs). `teacher.min_correct=m` keeps only the problems on which
the teacher had at least m correct samples out of its N, which gives Figure 6's
"questions the model solves" subsets; it also filters fresh teacher samples.
"""

from __future__ import annotations

import collections
import re
from typing import Sequence

from absl import logging

from restem_jax import io
from restem_jax.tasks.problem import Problem

_ITER = re.compile(r"^iter_(\d+)$")


def resolve(path: str) -> str:
  """DIR itself when it holds chunk files, else DIR's last iter_i/estep."""
  if not io.isdir(path):
    raise FileNotFoundError(f"config.teacher.estep_dir={path!r}: no such directory.")
  if any(n.startswith("chunk_") for n in io.listdir(path)):
    return path
  iters = sorted((int(m.group(1)), n) for n in io.listdir(path) if (m := _ITER.match(n)))
  for _, name in reversed(iters):
    d = io.join(path, name, "estep")
    if io.isdir(d) and any(n.startswith("chunk_") for n in io.listdir(d)):
      return d
  raise FileNotFoundError(f"config.teacher.estep_dir={path!r}: holds no E-step chunk files "
                          "(chunk_*.json) and no iter_*/estep directory with any.")


def filter_min_correct(records: Sequence[dict], min_correct: int) -> list[dict]:
  """Chunk records restricted to problems with >= min_correct correct samples."""
  if min_correct <= 0:
    return list(records)
  out = []
  for r in records:
    ok = {p for p, n in r["stats"]["correct_per_problem"].items() if n >= min_correct}
    stats = dict(r["stats"], correct_per_problem={p: n for p, n in
                                                 r["stats"]["correct_per_problem"].items()
                                                 if p in ok},
                 kept_per_problem={p: n for p, n in r["stats"]["kept_per_problem"].items()
                                   if p in ok})
    out.append({"kept": [k for k in r["kept"] if k["problem_id"] in ok], "stats": stats})
  return out


def load(path: str, train: Sequence[Problem], encode, min_correct: int = 0) -> list[dict]:
  """One chunk record of the reused kept samples of `train`'s problems (`encode`: problem ->
  its prompt ids, `Sampler.encode_problem`)."""
  d = resolve(path)
  ids = {p.id: p for p in train}
  kept, verdicts = [], collections.Counter()
  correct, kept_per = {}, {}
  for name in sorted(n for n in io.listdir(d) if n.startswith("chunk_")):
    r = io.read_json(io.join(d, name))
    verdicts.update(r["stats"].get("verdicts", {}))
    correct.update({p: n for p, n in r["stats"]["correct_per_problem"].items() if p in ids})
    kept_per.update({p: n for p, n in r["stats"]["kept_per_problem"].items() if p in ids})
    kept += [k for k in r["kept"] if k["problem_id"] in ids]
  for k in kept[:1]:  # the student must read the same prompt ids the teacher sampled from
    if list(encode(ids[k["problem_id"]])) != list(k["prompt_tokens"]):
      raise ValueError(f"config.teacher.estep_dir={path!r}: problem {k['problem_id']!r} was "
                       "sampled from different prompt ids than this run's vocabulary gives; "
                       "reuse needs the same tokenizer and prompt format.")
  logging.info("distill: reusing %d kept samples of %d/%d train problems from %s",
               len(kept), len(correct), len(train), d)
  record = {"kept": kept, "stats": {"verdicts": dict(verdicts), "correct_per_problem": correct,
                                    "kept_per_problem": kept_per, "generated_tokens": 0,
                                    "reused_from": d}}
  return filter_min_correct([record], min_correct)
