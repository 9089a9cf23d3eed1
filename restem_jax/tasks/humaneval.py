"""HumanEval as a problem task (Chen et al. 2021): transfer evaluation for code, test only.

File under `data_dir`: `humaneval/HumanEval.jsonl.gz` (or an unzipped
`humaneval/HumanEval.jsonl`). The prompt is the record's own `prompt` (imports,
signature and docstring) and the model continues the function body; the verifier's
sample is prompt + completion, or the completion alone when it defines the entry point
itself (`restem_jax.tasks.completion.checker_sample`). The
reference solution is the record's `canonical_solution`. There is no train or
validation split: asking for one is an error.
"""

from __future__ import annotations

import os

from restem_jax.tasks import records
from restem_jax.tasks.problem import Problem
from restem_jax.tasks import registry
from restem_jax.tasks.spec import TaskSpec
from restem_jax.verify import humaneval_format

TASK = "humaneval"
FILE = "humaneval/HumanEval.jsonl.gz"


def _read(data_dir: str) -> list[dict]:
  unzipped = FILE.removesuffix(".gz")
  if not os.path.isfile(os.path.join(data_dir, FILE)) and os.path.isfile(
      os.path.join(data_dir, unzipped)):
    return records.read_jsonl(data_dir, unzipped, TASK)
  return records.read_jsonl(data_dir, FILE, TASK)


def humaneval_problems(split: str, data_dir: str, seed: int) -> list[Problem]:
  del seed  # the order is the file's
  records.check_split(TASK, split)
  if split != "test":
    raise ValueError(
        f"{TASK} has only a test split (164 problems, for evaluation/transfer); there is "
        f"no {split!r} split. Train on another task (e.g. apps, mbpp, toy_code).")
  problems = [Problem(
      id=r["task_id"],
      prompt=r["prompt"],
      question=r["prompt"],
      answer="",
      reference_solution=r["canonical_solution"],
      difficulty="unrated",
      split=split,
      verifier_task=TASK,
      checker_payload=dict(r)) for r in _read(data_dir)]
  return records.unique_ids(problems)


def checked_program(problem: Problem, completion: str) -> str:
  """prompt + completion, or the completion alone when it defines the entry point."""
  return humaneval_format.program(problem.prompt, problem.checker_payload.get("entry_point", ""),
                                  completion)


registry.register(TaskSpec(TASK, humaneval_problems,
                           stop=("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"),
                           checked_text=checked_program))
