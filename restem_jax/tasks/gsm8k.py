"""GSM8K as a problem task (Cobbe et al. 2021): transfer evaluation for ReST-EM on MATH.

Files under `data_dir`: `gsm8k/train.jsonl` (-> train, and a seeded validation slice
held out from it) and `gsm8k/test.jsonl` (-> test). Ids name the source record,
`gsm8k/<file>/<line>` (0-based), whatever split it lands in.

Prompt: the Wei et al. 8-shot chain of thought (`gsm8k_shots`), ending in `A:`. The
reference solution is the gold rationale without calculator annotations `<<...>>`,
lines joined by spaces, ending in `The answer is N.`; the payload is the native record
(its `answer` ends in `#### N`, which the verifier reads).
"""

from __future__ import annotations

import re

from restem_jax.tasks import chat_prompt
from restem_jax.tasks import gsm8k_shots
from restem_jax.tasks import holdout
from restem_jax.tasks import records
from restem_jax.tasks import registry
from restem_jax.tasks.problem import Problem
from restem_jax.tasks.spec import TaskSpec, math_answer
from restem_jax.verify.math_checker import normalize_answer

TASK = "gsm8k"
FILES = {"train": "gsm8k/train.jsonl", "validation": "gsm8k/train.jsonl",
         "test": "gsm8k/test.jsonl"}
_CALCULATOR = re.compile(r"<<[^>]*>>")


def gold_answer(record: dict) -> str | None:
  """The number after the last `####`, without thousands separators."""
  answer = record.get("answer") or ""
  if "####" not in answer:
    return None
  gold = answer.rsplit("####", 1)[1].strip().replace(",", "")
  return gold or None


def rationale(record: dict, gold: str) -> str:
  """' <steps> The answer is N.': what follows `A:` in the prompt's format."""
  steps = _CALCULATOR.sub("", record["answer"].rsplit("####", 1)[0])
  text = " ".join(line.strip() for line in steps.splitlines() if line.strip())
  if text and not text.endswith((".", "!", "?")):
    text += "."
  return f" {text} The answer is {gold}."


def gsm8k_problems(split: str, data_dir: str, seed: int) -> list[Problem]:
  """The problems of one split; see the module docstring."""
  records.check_split(TASK, split)
  relpath = FILES[split]
  file_tag = relpath.rsplit("/", 1)[1].removesuffix(".jsonl")
  rows = holdout.split_rows_without_shots(data_dir, relpath, TASK, split, seed,
                                          gsm8k_shots.SHOT_QUESTIONS, "question")
  skips, problems = records.SkipCounter(TASK, split), []
  for line, record in rows:
    gold = gold_answer(record)
    if gold is None:
      skips.skip("no '#### N' answer")
      continue
    problems.append(Problem(
        id=f"{TASK}/{file_tag}/{line}",
        prompt=gsm8k_shots.prompt_for(record["question"]),
        question=record["question"],
        answer=gold,
        reference_solution=rationale(record, gold),
        difficulty="grade_school",
        split=split,
        verifier_task=TASK,
        checker_payload=dict(record)))
  skips.report(kept=len(problems))
  return records.unique_ids(problems)


def chat_turns(problem: Problem) -> list[dict]:
  """The eight shots as earlier turns, then the question (task.chat=True)."""
  return chat_prompt.shot_turns(gsm8k_shots.SHOTS, problem.question)


registry.register(TaskSpec(TASK, gsm8k_problems, stop=("\n\nQ:",), pred=math_answer,
                           pred_key=normalize_answer, chat_turns=chat_turns))
