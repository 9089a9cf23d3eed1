"""APPS as problem tasks (Hendrycks et al. 2021): `apps` (introductory) and `apps_sample10`.

`apps` reads `apps/train.jsonl` (-> train, and a seeded validation slice held out from
it) and `apps/test.jsonl` (-> test) under `data_dir`, one APPS record per line as in
the HF `codeparrot/apps` jsonl files, and keeps the `introductory` problems (the
paper's setting), both stdin/stdout and call-based (`fn_name` in `input_output`).
Those files are NOT in /work/shared/data: only `apps_sample10` works there, a smoke
test that reads `apps/apps_test_sample10.jsonl` as its test split (all difficulties)
and has no train or validation split.

Prompt: the APPS paper's zero-shot format, ending where the program starts:

    QUESTION:\\n<question>\\n<starter_code>\\nUse Standard Input format\\nANSWER:\\n

("Use Call-Based format" when the tests call `fn_name`). The sample is the whole
program. The reference solution is the first of `solutions` if the record has any.
"""

from __future__ import annotations

import functools
import json

from restem_jax.tasks import holdout
from restem_jax.tasks import records
from restem_jax.tasks.problem import Problem
from restem_jax.tasks.registry import register_problem_task

VERIFIER_TASK = "apps"
FILES = {"apps": {"train": "apps/train.jsonl", "test": "apps/test.jsonl"},
         "apps_sample10": {"test": "apps/apps_test_sample10.jsonl"}}
DIFFICULTIES = {"apps": ("introductory",), "apps_sample10": None}  # None: keep all


def _as_obj(value, default):
  if isinstance(value, str):
    try:
      return json.loads(value) if value.strip() else default
    except json.JSONDecodeError:
      return default
  return default if value is None else value


def prompt_for(record: dict, io: dict) -> str:
  starter = record.get("starter_code") or ""
  fmt = "Call-Based" if io.get("fn_name") else "Standard Input"
  return f"QUESTION:\n{record['question'].strip()}\n{starter}\nUse {fmt} format\nANSWER:\n"


def to_problem(task: str, split: str, split_file: str, record: dict, io: dict) -> Problem:
  solutions = _as_obj(record.get("solutions"), [])
  return Problem(
      id=f"{task}/{split_file}/{record['problem_id']}",
      prompt=prompt_for(record, io),
      question=record["question"],
      answer="",
      reference_solution=solutions[0] if solutions else "",
      difficulty=record.get("difficulty", "unrated"),
      split=split,
      verifier_task=VERIFIER_TASK,
      checker_payload=dict(record))


def apps_problems(split: str, data_dir: str, seed: int, *, task: str = "apps") -> list[Problem]:
  """The problems of one split; see the module docstring."""
  records.check_split(task, split)
  split_file = "test" if split == "test" else "train"
  if split_file not in FILES[task]:
    raise ValueError(f"{task} has only a test split (a 10-problem smoke-test sample); "
                     f"there is no {split!r} split. Use task 'apps' with full APPS files.")
  rows = records.read_jsonl(data_dir, FILES[task][split_file], task)
  if split != "test":
    rows = holdout.pick_split(rows, split, seed)
  keep = DIFFICULTIES[task]
  skips, problems = records.SkipCounter(task, split), []
  for record in rows:
    if keep is not None and record.get("difficulty") not in keep:
      continue  # another difficulty: not part of this task, not a skip
    io = _as_obj(record.get("input_output"), {})
    if not isinstance(io, dict) or not io.get("inputs"):
      skips.skip("no input_output test cases")
      continue
    problems.append(to_problem(task, split, split_file, record, io))
  skips.report(kept=len(problems))
  return records.unique_ids(problems)


for _name in FILES:
  register_problem_task(_name, functools.partial(apps_problems, task=_name))
