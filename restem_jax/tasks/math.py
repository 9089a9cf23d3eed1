r"""Hendrycks MATH as problem tasks: `math` (full 5,000-problem test) and `math500`.

Files under `data_dir` (layout of /work/shared/data):
  math/train.jsonl          train problems with worked solutions         -> train, validation
  math/train_answers.jsonl  the same problems, final answers only; read when train.jsonl
                            is absent (then there are no reference solutions: no SFT)
  math/test.jsonl           test problems with worked solutions          -> test of `math`
  math/math500_test.jsonl   the PRM800K 500-problem test split           -> test of `math500`
Validation is a seeded slice held out from train (`restem_jax.tasks.holdout`). With
train.jsonl, every train problem's reference solution is its worked solution followed
by the Minerva final-answer line, so the paper's SFT baseline runs on human data.

Prompt: the Minerva 4-shot prompt (`math_shots`), ending in `Solution:`. Difficulty is
`level_1`..`level_5` (`level_unknown` for the two train records marked "Level ?"); the
subject stays in the payload. The gold answer is the record's `answer`, else the
last `\boxed{}` of its solution; a record with neither is skipped and counted.
"""

from __future__ import annotations

import functools
import os

from restem_jax.tasks import chat_prompt
from restem_jax.tasks import holdout
from restem_jax.tasks import math_shots
from restem_jax.tasks import records
from restem_jax.tasks.problem import Problem
from restem_jax.tasks import registry
from restem_jax.tasks.spec import TaskSpec, math_answer
from restem_jax.verify.math_checker import normalize_answer
from restem_jax.verify.math_extract import extract_answer

TRAIN_FILES = ("math/train.jsonl", "math/train_answers.jsonl")  # first that exists
TEST_FILES = {"math": "math/test.jsonl", "math500": "math/math500_test.jsonl"}
VERIFIER_TASK = "math"


def difficulty(level) -> str:
  """'Level 3' or 3 -> 'level_3'; anything else -> 'level_unknown'."""
  digits = str(level).replace("Level", "").strip()
  return f"level_{digits}" if digits in {"1", "2", "3", "4", "5"} else "level_unknown"


def gold_answer(record: dict) -> str | None:
  """The record's `answer`, else the last box of its `solution`; None if neither."""
  answer = record.get("answer")
  if isinstance(answer, str) and answer.strip():
    return answer.strip()
  solution = record.get("solution") or ""
  if "\\boxed" not in solution and "\\fbox" not in solution:
    return None
  return extract_answer(solution)


def record_id(task: str, split_file: str, record: dict, line: int) -> str:
  """Stable id from unique_id where the file has one (train's say 'test/..' by mistake).

  Train records are shared by both variants, so their ids say `math/train/...`.
  """
  prefix = f"{task if split_file == 'test' else 'math'}/{split_file}"
  uid = record.get("unique_id")
  if uid:
    return f"{prefix}/{uid.split('/', 1)[-1].removesuffix('.json')}"
  return f"{prefix}/{record.get('idx', line)}"


def to_problem(task: str, split: str, split_file: str, line: int, record: dict,
               gold: str) -> Problem:
  solution = record.get("solution") or ""
  payload = dict(record, answer=gold)
  payload.setdefault("subject", record.get("type", ""))
  return Problem(
      id=record_id(task, split_file, record, line),
      prompt=math_shots.prompt_for(record["problem"]),
      question=record["problem"],
      answer=gold,
      reference_solution=math_shots.solution_block(solution, gold) if solution else "",
      difficulty=difficulty(record.get("level")),
      split=split,
      verifier_task=VERIFIER_TASK,
      checker_payload=payload)


def train_file(data_dir: str) -> str:
  """math/train.jsonl (worked solutions) when present, else math/train_answers.jsonl."""
  for relpath in TRAIN_FILES:
    if os.path.isfile(os.path.join(data_dir, relpath)):
      return relpath
  return TRAIN_FILES[-1]  # absent too: read_jsonl names it


def math_problems(split: str, data_dir: str, seed: int, *, task: str = "math") -> list[Problem]:
  """The problems of one split; see the module docstring for files and formats."""
  records.check_split(task, split)
  if split == "test":
    relpath, split_file = TEST_FILES[task], "test"
  else:
    relpath, split_file = train_file(data_dir), "train"
  rows = holdout.split_rows_without_shots(data_dir, relpath, task, split, seed,
                                          math_shots.SHOT_PROBLEMS, "problem")
  skips, problems = records.SkipCounter(task, split), []
  for line, record in rows:
    gold = gold_answer(record)
    if not gold:  # None, or an empty \boxed{}
      skips.skip("no gold answer")
      continue
    problems.append(to_problem(task, split, split_file, line, record, gold))
  skips.report(kept=len(problems))
  return records.unique_ids(problems)


def chat_turns(problem: Problem) -> list[dict]:
  """The four Minerva shots as earlier turns, then the problem (task.chat=True)."""
  shots = [(p, math_shots.solution_block(s, a).strip()) for p, s, a in math_shots.SHOTS]
  return chat_prompt.shot_turns(shots, problem.question)


for _name in TEST_FILES:
  registry.register(TaskSpec(_name, functools.partial(math_problems, task=_name),
                             checker=VERIFIER_TASK, stop=("\n\nProblem:",), pred=math_answer,
                             pred_key=normalize_answer, chat_turns=chat_turns))
