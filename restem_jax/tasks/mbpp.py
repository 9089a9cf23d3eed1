"""MBPP as a problem task (Austin et al. 2021), with the standard task_id splits.

File under `data_dir`: `mbpp/mbpp.jsonl` (all 974 records). Splits by task_id, as in
google-research mbpp/README.md and the HF `mbpp` config: 1-10 prompt shots (never a
problem), 11-510 test, 511-600 validation, 601-974 train.

Prompt: the 3-shot `[BEGIN]`/`[DONE]` format of the MBPP paper with lm-eval's wording
(shots are task_ids 2, 3, 4); each example reads

    You are an expert Python programmer, and here is your task: <text> Your code should
    pass these tests:\\n\\n<test 1>\\n<test 2>\\n<test 3>\\n[BEGIN]\\n<code>\\n[DONE]

and the prompt ends with `[BEGIN]\\n`. The model writes the whole program and stops at
`[DONE]` (a stop sequence, not part of the sample). Code has its CRLF line endings
turned into `\\n`; the payload is the native record, untouched.

`task.chat=True` (`chat_turns`): one user turn, the same task text and test asserts asking
for the function in a ```python block; the checker runs the code of the answer's first
fenced block (the answer itself when it has none).
"""

from __future__ import annotations

from restem_jax.tasks import records
from restem_jax.verify import builtin_checkers
from restem_jax.tasks.problem import Problem
from restem_jax.tasks import registry
from restem_jax.tasks.spec import TaskSpec

TASK = "mbpp"
FILE = "mbpp/mbpp.jsonl"
SHOT_IDS = (2, 3, 4)
PROMPT_IDS = range(1, 11)
SPLIT_IDS = {"test": range(11, 511), "validation": range(511, 601), "train": range(601, 975)}
STOP = "[DONE]"


def clean_code(code: str) -> str:
  return code.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def question_block(record: dict) -> str:
  tests = "\n".join(record["test_list"])
  return (f"You are an expert Python programmer, and here is your task: {record['text']} "
          f"Your code should pass these tests:\n\n{tests}\n[BEGIN]\n")


def chat_question(record: dict) -> str:
  """The user turn of `task.chat=True`: the task text and its asserts, code asked fenced."""
  tests = "\n".join(record["test_list"])
  return (f"You are an expert Python programmer, and here is your task: {record['text']} "
          f"Your code should pass these tests:\n\n{tests}\n\nWrite the code in a ```python "
          "code block.")


def chat_turns(problem: Problem) -> list[dict]:
  return [{"role": "user", "content": chat_question(problem.checker_payload)}]


def chat_program(problem: Problem, completion: str) -> str:
  """The code of a chat answer: its first fenced ```python block, else the whole answer."""
  del problem
  return builtin_checkers.program_of(completion)


def fewshot_prefix(by_id: dict[int, dict]) -> str:
  missing = [i for i in SHOT_IDS if i not in by_id]
  if missing:
    raise ValueError(f"{TASK}: prompt-shot task_ids {missing} missing from {FILE}")
  return "".join(question_block(by_id[i]) + clean_code(by_id[i]["code"]) + f"\n{STOP}\n\n"
                 for i in SHOT_IDS)


def mbpp_problems(split: str, data_dir: str, seed: int) -> list[Problem]:
  """The problems of one split, in task_id order; see the module docstring."""
  del seed  # splits are fixed by task_id
  records.check_split(TASK, split)
  by_id = {int(r["task_id"]): r for r in records.read_jsonl(data_dir, FILE, TASK)}
  prefix = fewshot_prefix(by_id)
  problems = [Problem(
      id=f"{TASK}/{task_id}",
      prompt=prefix + question_block(r),
      question=r["text"],
      answer="",
      reference_solution=clean_code(r["code"]),
      difficulty="unrated",
      split=split,
      verifier_task=TASK,
      checker_payload=dict(r)) for task_id, r in sorted(by_id.items())
      if task_id in SPLIT_IDS[split]]
  return records.unique_ids(problems)


registry.register(TaskSpec(TASK, mbpp_problems, stop=("[DONE]",), chat_turns=chat_turns,
                           chat_checked_text=chat_program))
