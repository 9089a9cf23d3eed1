'''A generated program-synthesis task: write `f` from a few input/output examples.

Deterministic given `seed`; needs no `data_dir`. Each (family, params) of
`toy_code_families` is one problem, e.g. `f(x) = 2*x+1`, `f(s) = s[::-1]`,
`f(xs) = sum(v for v in xs if v>3)`; difficulty is the family's `level_1`..`level_3`.
The seed shuffles each family's parameter grid into test (20%), validation (10%) and
train (the rest), so splits are disjoint in (family, params), and draws the shown
examples and the hidden test inputs.

The prompt is a program prefix, a module docstring with the examples then `def f(`:

    """Examples:
    f(3) == 7
    f(-1) == -1
    """
    def f(

The model continues with `x):\\n    return 2*x+1\\n` (the reference solution), so the
checked program is prompt + completion (`completion.checker_sample`). Hidden tests
are `assert f(<input>) == <output>` on inputs not shown in the prompt.
'''

from __future__ import annotations

import random

from restem_jax.tasks import records
from restem_jax.tasks.problem import Problem
from restem_jax.tasks import registry
from restem_jax.tasks.spec import TaskSpec, prompt_then_completion
from restem_jax.tasks.toy_code_families import FAMILIES, Family, Params

TASK = "toy_code"
TEST_FRACTION, VALIDATION_FRACTION = 0.2, 0.1
NUM_SHOWN = {1: 3, 2: 4, 3: 5}  # examples in the prompt, by level
NUM_HIDDEN = 6


def assign_splits(family: Family, seed: int) -> dict[str, list[Params]]:
  """A seeded partition of the family's parameter grid into the three splits."""
  grid = list(family.grid)
  random.Random(f"{seed}|{family.name}|splits").shuffle(grid)
  n_test, n_val = round(len(grid) * TEST_FRACTION), round(len(grid) * VALIDATION_FRACTION)
  return {"test": grid[:n_test], "validation": grid[n_test:n_test + n_val],
          "train": grid[n_test + n_val:]}


def distinct_inputs(family: Family, rng: random.Random, n: int) -> list:
  """`n` inputs with distinct reprs (fewer only if the input space is tiny)."""
  seen, out = set(), []
  for _ in range(50 * n):
    value = family.random_input(rng)
    if repr(value) not in seen:
      seen.add(repr(value))
      out.append(value)
      if len(out) == n:
        break
  return out


def problem_id(family: Family, params: Params) -> str:
  return f"{TASK}/{family.name}/" + ",".join(f"{k}={v}" for k, v in params)


def make_problem(family: Family, params: Params, split: str, seed: int) -> Problem:
  rng = random.Random(f"{seed}|{problem_id(family, params)}")
  f = family.function(params)
  inputs = distinct_inputs(family, rng, NUM_SHOWN[family.level] + NUM_HIDDEN)
  shown, hidden = inputs[:NUM_SHOWN[family.level]], inputs[NUM_SHOWN[family.level]:]
  examples = "".join(f"f({x!r}) == {f(x)!r}\n" for x in shown)
  prompt = f'"""Examples:\n{examples}"""\ndef f('
  program = family.program(params)
  return Problem(
      id=problem_id(family, params),
      prompt=prompt,
      question=examples.strip(),
      answer="",
      reference_solution=program.removeprefix("def f("),
      difficulty=f"level_{family.level}",
      split=split,
      verifier_task=TASK,
      checker_payload={"tests": [f"assert f({x!r}) == {f(x)!r}" for x in hidden],
                       "test_setup_code": ""})


def toy_code_problems(split: str, data_dir: str, seed: int) -> list[Problem]:
  """All problems of one split, family by family; `data_dir` is unused."""
  del data_dir
  records.check_split(TASK, split)
  problems = [make_problem(family, params, split, seed)
              for family in FAMILIES for params in assign_splits(family, seed)[split]]
  return records.unique_ids(problems)


registry.register(TaskSpec(TASK, toy_code_problems, stop=('\n"""',),
                           checked_text=prompt_then_completion))
