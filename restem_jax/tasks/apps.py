"""APPS as problem tasks (Hendrycks et al. 2021): `apps`, `apps_zeroshot` (introductory), `apps_sample10`.

`apps` reads `apps/train.jsonl` (-> train, and a seeded validation slice held out from
it) and `apps/test.jsonl` (-> test) under `data_dir`, one APPS record per line as in
the HF `codeparrot/apps` jsonl files, and keeps the `introductory` problems (the
paper's setting), both stdin/stdout and call-based (`fn_name` in `input_output`).
Those files are NOT in /work/shared/data: only `apps_sample10` works there, a smoke
test that reads `apps/apps_test_sample10.jsonl` as its test split (all difficulties)
and has no train or validation split.

Prompt: the APPS paper's format, ending where the program starts,

    QUESTION:\\n<question>\\n<starter_code>\\nUse Standard Input format\\nANSWER:\\n

("Use Call-Based format" when the tests call `fn_name`), after the two solved examples of
`apps_shots` (few-shot, the paper's "few-shot prompt with programs"; `apps` and
`apps_sample10`) or alone (`apps_zeroshot`, the same problems zero-shot). The sample is
the whole program; the next example's `\\nQUESTION:` ends it (a stop sequence). The
reference solution is the first of `solutions` if the record has any. A record whose
question is a shot's is dropped from every split (the shots are ours: none is today).
"""

from __future__ import annotations

import dataclasses
import functools
import json

from restem_jax.tasks import apps_shots
from restem_jax.tasks import holdout
from restem_jax.tasks import records
from restem_jax.tasks.problem import Problem
from restem_jax.tasks import registry
from restem_jax.tasks.spec import TaskSpec

VERIFIER_TASK = "apps"
_FULL = {"train": "apps/train.jsonl", "test": "apps/test.jsonl"}


@dataclasses.dataclass(frozen=True)
class Variant:
  files: dict             # split file ('train', 'test') -> path under data_dir
  difficulties: tuple | None  # kept `difficulty` values; None: all
  few_shot: bool          # the apps_shots examples before the problem


VARIANTS = {
    "apps": Variant(_FULL, ("introductory",), few_shot=True),
    "apps_zeroshot": Variant(_FULL, ("introductory",), few_shot=False),
    "apps_sample10": Variant({"test": "apps/apps_test_sample10.jsonl"}, None, few_shot=True),
}


def _as_obj(value, default):
  if isinstance(value, str):
    try:
      return json.loads(value) if value.strip() else default
    except json.JSONDecodeError:
      return default
  return default if value is None else value


def prompt_for(record: dict, io: dict, few_shot: bool = True) -> str:
  block = apps_shots.question_block(record["question"], record.get("starter_code") or "",
                                    call_based=bool(io.get("fn_name")))
  return (apps_shots.FEWSHOT_PREFIX if few_shot else "") + block


def to_problem(task: str, split: str, split_file: str, record: dict, io: dict) -> Problem:
  solutions = _as_obj(record.get("solutions"), [])
  return Problem(
      id=f"{task}/{split_file}/{record['problem_id']}",
      prompt=prompt_for(record, io, VARIANTS[task].few_shot),
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
  variant = VARIANTS[task]
  split_file = "test" if split == "test" else "train"
  if split_file not in variant.files:
    raise ValueError(f"{task} has only a test split (a 10-problem smoke-test sample); "
                     f"there is no {split!r} split. Use task 'apps' with full APPS files.")
  rows = holdout.split_rows_without_shots(data_dir, variant.files[split_file], task, split,
                                          seed, apps_shots.SHOT_QUESTIONS, "question")
  skips, problems = records.SkipCounter(task, split), []
  for _, record in rows:
    if variant.difficulties is not None and record.get("difficulty") not in variant.difficulties:
      continue  # another difficulty: not part of this task, not a skip
    io = _as_obj(record.get("input_output"), {})
    if not isinstance(io, dict) or not io.get("inputs"):
      skips.skip("no input_output test cases")
      continue
    problems.append(to_problem(task, split, split_file, record, io))
  skips.report(kept=len(problems))
  return records.unique_ids(problems)


for _name in VARIANTS:
  registry.register(TaskSpec(_name, functools.partial(apps_problems, task=_name),
                             checker=VERIFIER_TASK, stop=("\nQUESTION:",)))
