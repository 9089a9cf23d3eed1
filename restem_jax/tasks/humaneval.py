"""HumanEval as a problem task (Chen et al. 2021): transfer evaluation for code, test only.

File under `data_dir`: `humaneval/HumanEval.jsonl.gz` (or an unzipped
`humaneval/HumanEval.jsonl`). The prompt is the record's own `prompt` (imports,
signature and docstring) and the model continues the function body; the verifier's
sample is prompt + completion, or the completion alone when it defines the entry point
itself (`restem_jax.tasks.completion.checker_sample`). The
reference solution is the record's `canonical_solution`. There is no train or
validation split: asking for one is an error.

`task.chat=True` (`chat_turns`): one user turn asking to complete the record's `prompt`
(shown in a ```python block) and to answer with the whole function in one. The checked
program (`chat_program`) is the record's prompt followed by the code of the answer's
first fenced block (the answer itself when it has none): an answer that defines the entry
point replaces the prompt's stub, keeping the prompt's imports and helper functions; any
other answer is taken as the body continuing the prompt.
"""

from __future__ import annotations

import os

from restem_jax.tasks import records
from restem_jax.tasks.problem import Problem
from restem_jax.tasks import registry
from restem_jax.tasks.spec import TaskSpec
from restem_jax.verify import builtin_checkers, humaneval_format

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


CHAT_INSTRUCTION = ("Complete the following Python function. Answer with the whole function in "
                    "a ```python code block.")


def chat_turns(problem: Problem) -> list[dict]:
  prompt = problem.checker_payload["prompt"]
  return [{"role": "user", "content": f"{CHAT_INSTRUCTION}\n\n```python\n{prompt}```"}]


def chat_program(problem: Problem, completion: str) -> str:
  """The record's prompt, then the answer's fenced code: a whole function replaces the stub."""
  prompt = problem.checker_payload["prompt"]
  code = builtin_checkers.program_of(completion)
  if humaneval_format.defines_entry_point(code, problem.checker_payload.get("entry_point", "")):
    return prompt.rstrip("\n") + "\n\n\n" + code
  return prompt + code


registry.register(TaskSpec(TASK, humaneval_problems,
                           stop=("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"),
                           checked_text=checked_program, chat_turns=chat_turns,
                           chat_checked_text=chat_program))
