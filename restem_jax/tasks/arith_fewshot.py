"""`arith_fewshot`: integer arithmetic in natural text with a 3-shot prompt, five levels.

The task of the real-model run card (configs/smollm2_arith.py): generated from a seed,
checked by the math checker on the sample's final "The answer is N." Each prompt is
three worked examples and the question:

    Question: What is 23 + 5?
    Answer: 23 + 5 = 28. The answer is 28.

    Question: What is 14 + 7 - 9?
    Answer: 14 + 7 = 21. 21 - 9 = 12. The answer is 12.

    Question: What is 62 - 4?
    Answer: 62 - 4 = 58. The answer is 58.

    Question: What is 59 + 7?
    Answer:

and a sample is one line (the stop sequence is the newline). Levels (difficulty):
1 `a + b` (two digits + one digit); 2 `a + b` (two digits each); 3 `a - b` (two digits
- one digit); 4 `a + b - c` (two steps); 5 `a * b + c` (one-digit product plus a two-digit
number; no example in the prompt shows a product). Measured while calibrating, SmolLM2-
135M-Instruct with this prompt (12 problems a level, 8 samples at T=0.7, top-k 40):
mean sampled success 0.20 / 0.11 / 0.14 / 0.02 / 0.04 and pass@8 0.67 / 0.58 / 0.33 /
0.17 / 0.25 for levels 1-5 — partially competent, the regime where ReST-EM can help.
Its typical failures are arithmetic ("87 + 9 = 176") and steps copied from an example
("80 + 71 = 151. 151 - 80 = 10."), so the per-level report separates format from skill
only partly: a reader should look at levels 4-5 for gains beyond format.
"""

from __future__ import annotations

import random
from typing import Iterable, Iterator

from restem_jax.tasks import chat_prompt
from restem_jax.tasks import registry
from restem_jax.tasks.problem import Problem
from restem_jax.tasks.spec import TaskSpec, math_answer
from restem_jax.verify.math_checker import normalize_answer

TASK = "arith_fewshot"
SPLIT_SIZES = {"train": 1024, "validation": 128, "test": 200}
_SPLIT_SALT = {"test": 3, "validation": 2, "train": 1}
# Splits are drawn in this order, each avoiding the expressions before it (and the shots).
_DRAW_ORDER = ("test", "validation", "train")
NUM_LEVELS = 5

SHOTS = (("23 + 5", [("23 + 5", 28)]),
         ("14 + 7 - 9", [("14 + 7", 21), ("21 - 9", 12)]),
         ("62 - 4", [("62 - 4", 58)]))


def _draw(rng: random.Random, level: int) -> list:
  """The expression's tokens [a, op, b, ...] for a level."""
  r = rng.randint
  if level == 1:
    return [r(10, 99), "+", r(1, 9)]
  if level == 2:
    return [r(10, 99), "+", r(10, 99)]
  if level == 3:
    return [r(10, 99), "-", r(1, 9)]
  if level == 4:
    return [r(10, 99), "+", r(1, 9), "-", r(1, 9)]
  return [r(2, 9), "*", r(2, 9), "+", r(10, 99)]


def _apply(a: int, op: str, b: int) -> int:
  return a + b if op == "+" else a - b if op == "-" else a * b


def steps(toks: list) -> list[tuple[str, int]]:
  """Left-to-right steps ('a op b', value); products come first in every level here."""
  toks, out = list(toks), []
  while len(toks) > 1:
    a, op, b = toks[:3]
    out.append((f"{a} {op} {b}", _apply(a, op, b)))
    toks[:3] = [out[-1][1]]
  return out


def expression_text(toks: list) -> str:
  return " ".join(str(t) for t in toks)


def solution_line(worked: list[tuple[str, int]]) -> str:
  """' 14 + 7 = 21. 21 - 9 = 12. The answer is 12.' (a continuation of 'Answer:')."""
  body = " ".join(f"{expr} = {value}." for expr, value in worked)
  return f" {body} The answer is {worked[-1][1]}."


def _block(question: str) -> str:
  return f"Question: What is {question}?\nAnswer:"


PREFIX = "".join(_block(q) + solution_line(w) + "\n\n" for q, w in SHOTS)


def prompt_text(expression: str) -> str:
  return PREFIX + _block(expression)


_EXPR_CACHE: dict = {}


def _problems(split: str, seed: int) -> Iterator[tuple[list, int]]:
  before = _DRAW_ORDER[:_DRAW_ORDER.index(split)]
  taken = {q for q, _ in SHOTS}.union(*(_expressions_of(s, seed) for s in before))
  rng = random.Random(seed * 1000 + _SPLIT_SALT[split] + 17)
  seen = set()
  while len(seen) < SPLIT_SIZES[split]:
    level = rng.randint(1, NUM_LEVELS)
    toks = _draw(rng, level)
    key = expression_text(toks)
    if key in seen or key in taken:
      continue
    seen.add(key)
    yield toks, level


def _expressions_of(split: str, seed: int) -> set[str]:
  if (split, seed) not in _EXPR_CACHE:
    _EXPR_CACHE[(split, seed)] = {expression_text(t) for t, _ in _problems(split, seed)}
  return _EXPR_CACHE[(split, seed)]


def generate(split: str, data_dir: str = "", seed: int = 0) -> Iterable[Problem]:
  del data_dir  # generated, no files
  if split not in SPLIT_SIZES:
    raise ValueError(f"{TASK}: unknown split {split!r}; known: {sorted(SPLIT_SIZES)}.")
  for i, (toks, level) in enumerate(_problems(split, seed)):
    expr = expression_text(toks)
    worked = steps(toks)
    gold = str(worked[-1][1])
    yield Problem(id=f"{TASK}/{split}/{i}", prompt=prompt_text(expr), question=expr,
                  answer=gold, reference_solution=solution_line(worked),
                  difficulty=f"level_{level}", split=split, verifier_task=TASK,
                  checker_payload={"answer": gold})


def chat_turns(problem: Problem) -> list[dict]:
  """The three shots as earlier turns, then the question (task.chat=True)."""
  return chat_prompt.shot_turns([(f"What is {q}?", solution_line(w).strip()) for q, w in SHOTS],
                                f"What is {problem.question}?")


registry.register(TaskSpec(TASK, generate, stop=("\n",), pred=math_answer,  # one-line solutions
                           pred_key=normalize_answer, chat_turns=chat_turns))
