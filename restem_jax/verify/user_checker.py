"""A researcher's own checker: `path/to/file.py:fn` or `package.module:fn`.

The function is called as `fn(completion: str, row: dict)` and returns a bool, a float
score, or a dict with `score` (optionally `pred`, the extracted answer maj@k votes on,
and any further JSON fields, kept with the sample). `load` imports it and checks its
signature, raising an error that names the file and the function, so a bad spec fails
at start-up; `verdict` turns one call into a `Verdict`: an exception becomes an `error`
verdict whose detail is the end of the traceback (a hang is the pool's `timeout`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import math
import os
import sys
import traceback
from typing import Any, Callable

from restem_jax.verify.verdict import CORRECT, ERROR, INCORRECT, Verdict

UserFn = Callable[[str, dict], Any]
_TRACEBACK_CHARS = 1500


class CheckerSpecError(ValueError):
  """A checker spec that cannot be used: names the spec, file and function."""


def split_spec(spec: str) -> tuple[str, str]:
  """('path/to/file.py' or 'package.module', 'fn') of a user checker spec."""
  where, sep, fn = spec.rpartition(":")
  if not sep or not where or not fn.isidentifier():
    raise CheckerSpecError(
        f"checker {spec!r}: expected a built-in name or 'path/to/file.py:fn' or "
        "'package.module:fn'.")
  return where, fn


def _import_module(where: str, spec: str):
  if where.endswith(".py"):
    path = os.path.abspath(where)
    if not os.path.isfile(path):
      raise CheckerSpecError(f"checker {spec!r}: file {path} does not exist.")
    name = "restem_user_checker_" + str(abs(hash(path)))
    if name in sys.modules:
      return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    try:
      module_spec.loader.exec_module(module)
    except Exception as e:
      raise CheckerSpecError(f"checker {spec!r}: importing {path} failed: "
                             f"{type(e).__name__}: {e}") from e
    sys.modules[name] = module
    return module
  try:
    return importlib.import_module(where)
  except Exception as e:
    raise CheckerSpecError(f"checker {spec!r}: importing module {where!r} failed: "
                           f"{type(e).__name__}: {e}") from e


def load(spec: str) -> UserFn:
  """The function `spec` names, after checking it accepts (completion, row)."""
  where, fn_name = split_spec(spec)
  module = _import_module(where, spec)
  fn = getattr(module, fn_name, None)
  if fn is None:
    raise CheckerSpecError(f"checker {spec!r}: {where} has no function {fn_name!r}.")
  if not callable(fn):
    raise CheckerSpecError(f"checker {spec!r}: {where}:{fn_name} is not callable.")
  try:
    inspect.signature(fn).bind("", {})
  except TypeError as e:
    raise CheckerSpecError(f"checker {spec!r}: {where}:{fn_name} must accept "
                           f"(completion: str, row: dict): {e}") from e
  except ValueError:
    pass  # no signature to inspect (a builtin): trust it
  return fn


def _score(value, name: str) -> float:
  if isinstance(value, bool):
    return 1.0 if value else 0.0
  if isinstance(value, (int, float)) and math.isfinite(value):
    return float(value)
  raise TypeError(f"{name} must be a bool or a finite number, got {value!r}")


def _jsonable(extra: dict) -> dict:
  return json.loads(json.dumps(extra, default=str))


def to_verdict(result, keep_threshold: float) -> Verdict:
  """The verdict of one returned value (bool, number, or dict with `score`)."""
  if isinstance(result, dict):
    if "score" not in result:
      raise TypeError(f"a checker's dict result needs a 'score' key, got keys {sorted(result)}")
    score = _score(result["score"], "result['score']")
    pred = result.get("pred")
    extra = _jsonable({k: v for k, v in result.items() if k not in ("score", "pred")})
    pred = None if pred is None else str(pred)
  else:
    score, pred, extra = _score(result, "the checker's result"), None, None
  status = CORRECT if score >= keep_threshold else INCORRECT
  return Verdict(status, f"score={score:g}", score=score, pred=pred, extra=extra or None)


def verdict(fn: UserFn, keep_threshold: float, completion: str, row: dict) -> Verdict:
  """`fn(completion, row)` as a Verdict; an exception is an `error` with its traceback."""
  try:
    return to_verdict(fn(completion, row), keep_threshold)
  except Exception:  # the user's code: any failure is this sample's error verdict
    tb = traceback.format_exc()
    return Verdict(ERROR, "user_checker_exception:" + tb[-_TRACEBACK_CHARS:])
