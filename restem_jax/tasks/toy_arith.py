"""`toy_arith`: the embedded default task, generated deterministically from a seed.

Problems are integer expressions over digits 1-9 with +, -, *, some divided by d
so the answer is a fraction (gold reduced, e.g. `\\frac{7}{2}`; the model writes
`\\frac{14}{4}`: the math checker, not string equality, decides). Solutions are
short chains of thought ending in `\\boxed{...}`:

    Q: 7-2*3
    A: 2*3=6. 7-6=1. \\boxed{1}

Levels (difficulty): 1 `a op b`; 2 `a ± b * c`; 3 `(a ± b * c)/d`;
4 `a ± b * c ± e` or `a * b ± c * e`; 5 level-4 expressions divided by d.

The base model's pretraining corpus (`pretraining_texts`) models noisy web data:
with probability `mistake_rate` a solution evaluates strictly left to right,
ignoring operator precedence. A model pretrained on it is partially competent
(it can do each step, but mostly applies the wrong order on levels 2-5), which is
the regime where ReST-EM helps: correct orders appear among samples, the verifier
keeps them, and fine-tuning on them shifts the policy.
"""

from __future__ import annotations

import fractions
import random
from typing import Iterable, Iterator

from restem_jax.tasks import registry
from restem_jax.tasks.problem import Problem
from restem_jax.tasks.spec import TaskSpec, math_answer
from restem_jax.verify.math_checker import normalize_answer

SPLIT_SIZES = {"train": 1024, "validation": 128, "test": 200}
_SPLIT_SALT = {"train": 1, "validation": 2, "test": 3, "pretrain": 4}


def _draw_expression(rng: random.Random, level: int) -> tuple[list, int | None]:
  """Tokens [a, op, b, ...] and an optional divisor."""
  d = lambda: rng.randint(1, 9)  # noqa: E731
  pm = lambda: rng.choice("+-")  # noqa: E731
  if level == 1:
    toks = [d(), rng.choice("+-*"), d()]
  elif level in (2, 3):
    toks = [d(), pm(), d(), "*", d()]
  else:
    toks = ([d(), pm(), d(), "*", d(), pm(), d()] if rng.random() < 0.5
            else [d(), "*", d(), pm(), d(), "*", d()])
  return toks, (rng.randint(2, 9) if level in (3, 5) else None)


def _apply(a: int, op: str, b: int) -> int:
  return a + b if op == "+" else a - b if op == "-" else a * b


def solve_steps(toks: list, precedence: bool = True) -> tuple[list[str], int]:
  """Evaluates step by step; `precedence=False` is the left-to-right mistake."""
  toks, steps = list(toks), []
  while len(toks) > 1:
    ops = [i for i in range(1, len(toks), 2)]
    mul = [i for i in ops if toks[i] == "*"]
    i = mul[0] if (precedence and mul) else ops[0]
    val = _apply(toks[i - 1], toks[i], toks[i + 1])
    steps.append(f"{toks[i - 1]}{toks[i]}{toks[i + 1]}={val}.")
    toks[i - 1:i + 2] = [val]
  return steps, toks[0]


def _latex_fraction(num: int, den: int) -> str:
  return f"\\frac{{{num}}}{{{den}}}"


def gold_answer(value: int, divisor: int | None) -> str:
  if divisor is None:
    return str(value)
  f = fractions.Fraction(value, divisor)
  if f.denominator == 1:
    return str(f.numerator)
  sign = "-" if f < 0 else ""
  return sign + _latex_fraction(abs(f.numerator), f.denominator)


def expression_text(toks: list, divisor: int | None) -> str:
  body = "".join(str(t) for t in toks)
  return f"({body})/{divisor}" if divisor else body


def solution_text(toks: list, divisor: int | None, precedence: bool = True) -> str:
  steps, value = solve_steps(toks, precedence)
  boxed = _latex_fraction(value, divisor) if divisor else str(value)
  return " " + " ".join(steps) + f" \\boxed{{{boxed}}}"


def prompt_text(expression: str) -> str:
  return f"Q: {expression}\nA:"


# Splits are drawn in this order, each avoiding the expressions of the ones before, so
# the held-out splits keep the full level mix however large the train split is.
_DRAW_ORDER = ("test", "validation", "train")


def _problems(split: str, seed: int, n: int) -> Iterator[tuple[list, int | None, int]]:
  """Distinct expressions per split; splits are disjoint (held-out test)."""
  before = _DRAW_ORDER[:_DRAW_ORDER.index(split)] if split in _DRAW_ORDER else ()
  taken = set().union(*(_expressions_of(s, seed) for s in before))
  rng = random.Random(seed * 1000 + _SPLIT_SALT[split])
  seen = set()
  while len(seen) < n:
    level = rng.randint(1, 5)
    toks, div = _draw_expression(rng, level)
    key = expression_text(toks, div)
    if key in seen or key in taken:
      continue
    seen.add(key)
    yield toks, div, level


_EXPR_CACHE: dict = {}


def _expressions_of(split: str, seed: int) -> set[str]:
  """Expression strings of an evaluation split's problems."""
  if (split, seed) not in _EXPR_CACHE:
    _EXPR_CACHE[(split, seed)] = {expression_text(toks, div) for toks, div, _ in
                                  _problems(split, seed, SPLIT_SIZES[split])}
  return _EXPR_CACHE[(split, seed)]


def generate(split: str, data_dir: str = "", seed: int = 0) -> Iterable[Problem]:
  del data_dir  # generated, no files
  for i, (toks, div, level) in enumerate(_problems(split, seed, SPLIT_SIZES[split])):
    expr = expression_text(toks, div)
    gold = gold_answer(solve_steps(toks)[1], div)
    yield Problem(id=f"toy_arith/{split}/{i}", prompt=prompt_text(expr), question=expr,
                  answer=gold, reference_solution=solution_text(toks, div),
                  difficulty=f"level_{level}", split=split, verifier_task="toy_arith",
                  checker_payload={"answer": gold})


def pretraining_texts(seed: int, num: int, mistake_rate: float) -> list[str]:
  """Noisy 'web' corpus for the toy base model: prompt + solution, some with the
  left-to-right mistake. Drawn from expressions outside every evaluation split."""
  rng = random.Random(seed * 7919 + 11)
  held_out = set().union(*(_expressions_of(s, seed) for s in SPLIT_SIZES))
  texts = []
  while len(texts) < num:
    level = rng.randint(1, 5)
    toks, div = _draw_expression(rng, level)
    expr = expression_text(toks, div)
    if expr in held_out:
      continue
    texts.append(prompt_text(expr) + solution_text(toks, div, rng.random() >= mistake_rate))
  return texts


registry.register(TaskSpec("toy_arith", generate, pred=math_answer, pred_key=normalize_answer))
