"""Transfer evaluation (paper Figures 2, 3, 7 right): the run's models on other tasks.

`config.eval.transfer_tasks` maps a label to an entry (`TransferEntry`,
restem_jax/config/sections.py) that names a registered task and where its data lives; in a
run card::

  c.eval.transfer_tasks = ml_collections.ConfigDict({
      "gsm8k": dict(data_dir="/work/shared/data", limit=500),
      "humaneval": dict(data_dir="/work/shared/data", num_samples=10, ks=(1, 10)),
  })

On the command line the whole mapping is one Python-literal dict, and a field of an
entry that the config file defines can be overridden on its own::

  --config.eval.transfer_tasks='{"gsm8k": {"data_dir": "/work/shared/data", "limit": 200}}'
  --config.eval.transfer_tasks.gsm8k.limit=100

Entry fields (`TransferTask`): task (default: the label), data_dir, split ('test'),
limit (0 = all; else a seeded stratified subsample), seed, num_samples (0 = greedy
pass@1 only; else also pass@k at T/top-p of config.eval), ks (default: powers of two up
to num_samples). Only the chosen split is read, so a test-only task (HumanEval) works.
Every model the run evaluates (base, SFT, every iteration, eval-only checkpoints) gets
`record["transfer"][label] = {task, n, pass1, per_difficulty, pass_at_k, skipped_long_prompts}`.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from restem_jax.config.sections import TransferEntry
from restem_jax.from_dict import from_dict
from restem_jax.loop import length_check
from restem_jax.loop.evaluation import greedy_eval
from restem_jax.loop.evaluation.evaluate import sampled_metrics
from restem_jax.loop.stage_configs import EvalConfig
from restem_jax.tasks import registry, subsample
from restem_jax.tasks.problem import Problem


@dataclasses.dataclass(frozen=True)
class TransferTask:
  label: str
  task: str
  data_dir: str = ""
  split: str = "test"
  limit: int = 0
  seed: int = 0
  num_samples: int = 0
  ks: tuple[int, ...] = ()

  def __post_init__(self):
    if self.task not in registry.available_tasks():
      raise ValueError(f"unknown task {self.task!r}; available: {registry.available_tasks()}")
    if self.num_samples < 0 or any(k < 1 or k > self.num_samples for k in self.ks):
      raise ValueError(f"num_samples={self.num_samples}, ks={self.ks}: every k must be in "
                       "[1, num_samples].")

  @property
  def pass_at_ks(self) -> tuple[int, ...]:
    if self.ks or not self.num_samples:
      return self.ks
    return tuple(k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= self.num_samples)


@dataclasses.dataclass(frozen=True)
class TransferSet:
  spec: TransferTask
  problems: tuple[Problem, ...]
  skipped_long_prompts: int


def tasks_from_config(transfer_tasks: Mapping[str, TransferEntry]) -> list[TransferTask]:
  """`config.eval.transfer_tasks` (label -> entry) as specs (an entry's task defaults to its
  label; the task must be registered by now)."""
  out = []
  for label, entry in sorted(transfer_tasks.items()):
    fields = dict(dataclasses.asdict(entry), label=label, task=entry.task or label)
    out.append(from_dict(TransferTask, fields, f"config.eval.transfer_tasks.{label}"))
  return out


def load(specs: Sequence[TransferTask], sampler) -> list[TransferSet]:
  """Loads every transfer task's split now (before any expensive stage)."""
  sets = []
  for t in specs:
    problems = registry.load_problems(t.task, t.split, t.data_dir, t.seed)
    problems = subsample.stratified(problems, t.limit, seed=t.seed, split=t.split)
    problems, skipped = length_check.split_long_prompts(problems, sampler,
                                                        f"transfer task {t.label!r}")
    if not problems:
      raise ValueError(f"config.eval.transfer_tasks.{t.label}: task {t.task!r} has no usable "
                       f"{t.split} problems (data_dir={t.data_dir!r}, {len(skipped)} skipped "
                       "as longer than the largest prompt bucket).")
    sets.append(TransferSet(t, tuple(problems), len(skipped)))
  return sets


def evaluate(params, sets: Sequence[TransferSet], sampler, pool, eval_cfg: EvalConfig, *,
             seed: int) -> dict:
  """{label: greedy pass@1 (+ pass@k)} for one model; {} when no transfer task is set."""
  out = {}
  for s in sets:
    g = greedy_eval.greedy_pass1(params, s.problems, sampler, pool, seed)
    rec = {"task": s.spec.task, "n": len(s.problems), "pass1": g["pass1"],
           "per_difficulty": g["per_difficulty"], "pass_at_k": None,
           "skipped_long_prompts": s.skipped_long_prompts}
    if s.spec.num_samples:
      cfg = dataclasses.replace(eval_cfg, num_samples=s.spec.num_samples, ks=s.spec.pass_at_ks)
      rec["pass_at_k"] = sampled_metrics(params, s.problems, sampler, pool, cfg,
                                         seed=seed)["test_pass_at_k"]
    out[s.spec.label] = rec
  return out


def scalars(transfer: dict | None) -> dict:
  """Flat metrics for metrics.jsonl / TensorBoard: transfer_<label>_pass1, ..._pass_at_<k>."""
  out = {}
  for label, rec in (transfer or {}).items():
    out[f"transfer_{label}_pass1"] = rec["pass1"]
    for k, v in (rec.get("pass_at_k") or {}).items():
      out[f"transfer_{label}_pass_at_{k}"] = v
  return out
