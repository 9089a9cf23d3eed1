"""`verifier.checker=SPEC`: a built-in checker name or a user function, as one pool key.

A `CheckerSpec` says which checker grades a task's rows and with what settings
(`answer_field`: the row's gold column for built-ins; `keep_threshold`: the score at
which a sample is correct, i.e. kept; `tolerance`: `numeric`'s). Its `key()` is the
string the loop hands to `VerifierPool.submit` in place of a task name: worker
processes rebuild the checker from it (`build`), importing the user's module once.
`validate` imports a user checker in the calling process, so a bad spec fails at
start-up naming the file and the function, before any model work.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Callable

from restem_jax.verify import builtin_checkers
from restem_jax.verify import user_checker
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.user_checker import CheckerSpecError
from restem_jax.verify.verdict import ERROR, Verdict

KEY_PREFIX = "checker_spec:"
Checker = Callable[[str, dict], Verdict]


@dataclasses.dataclass(frozen=True)
class CheckerSpec:
  spec: str  # a builtin_checkers.BUILTINS name, or 'file.py:fn' / 'pkg.mod:fn'
  answer_field: str = "answer"  # the row's gold column (built-in checkers)
  keep_threshold: float = 1.0   # a user checker's score >= this is correct (kept)
  tolerance: float = 1e-6       # `numeric`: |pred - gold| <= tolerance * max(1, |gold|)

  @property
  def is_builtin(self) -> bool:
    return self.spec in builtin_checkers.BUILTINS

  def key(self) -> str:
    return KEY_PREFIX + json.dumps(dataclasses.asdict(self), sort_keys=True)


def from_key(key: str) -> CheckerSpec | None:
  """The spec a pool key names, or None when `key` is not a checker-spec key."""
  if not key.startswith(KEY_PREFIX):
    return None
  return CheckerSpec(**json.loads(key[len(KEY_PREFIX):]))


def validate(spec: CheckerSpec) -> CheckerSpec:
  """`spec` with a user file made absolute, after importing its function once.

  Raises `CheckerSpecError` naming the spec, file and function when it cannot be used.
  """
  if spec.is_builtin:
    return spec
  where, fn = user_checker.split_spec(spec.spec)
  if where.endswith(".py"):
    spec = dataclasses.replace(spec, spec=f"{os.path.abspath(where)}:{fn}")
  user_checker.load(spec.spec)
  return spec


def _builtin(spec: CheckerSpec, options, completion: str, row: dict) -> Verdict:
  if spec.answer_field not in row:
    return Verdict(ERROR, f"bad_problem:missing_field:{spec.answer_field}")
  return builtin_checkers.BUILTINS[spec.spec](completion, row[spec.answer_field], row, options)


def build(spec: CheckerSpec, sandbox: SandboxConfig | None = None) -> Checker:
  """The `(completion, row) -> Verdict` function of `spec` (imports a user checker)."""
  if spec.is_builtin:
    options = builtin_checkers.Options(tolerance=spec.tolerance,
                                       sandbox=sandbox or SandboxConfig())
    return functools.partial(_builtin, spec, options)
  return functools.partial(user_checker.verdict, user_checker.load(spec.spec),
                           spec.keep_threshold)


__all__ = ["CheckerSpec", "CheckerSpecError", "KEY_PREFIX", "build", "from_key", "validate"]
