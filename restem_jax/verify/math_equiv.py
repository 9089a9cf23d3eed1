"""Symbolic and numeric equivalence of two normalised answers (uses sympy).

Order of tests: equal strings; same structure compared element-wise (tuples
and intervals in order with identical brackets, sets as multisets, matrices by
shape and cell); then for scalars: exact rational equality, numeric equality
to a tight relative tolerance (1e-9) for irrational values and decimals, and
``simplify(a - b) == 0`` for expressions with symbols. No x100 percentage rule
and no loose integer tolerance: ``500`` vs ``5`` and ``100000`` vs ``100001``
are different answers.

sympy can run for ever (``5^{5^{5^5}}``) and latex parsing evaluates powers
eagerly, so answers with power towers or huge integer powers are compared as
strings only. Everything here must still run inside a killable worker process
(see ``pool.py``): no timeout is enforced in this module.
"""

import functools
import math
import re

import sympy
from latex2sympy2_extended import latex2sympy

from restem_jax.verify import math_normalize
from restem_jax.verify import math_structure

_REL_TOL = 1e-9
_MAX_DIGITS = 10_000  # larger integer powers are not evaluated
_POWER = re.compile(r'(\d+(?:\.\d+)?)\s*\^\s*\{?\s*\(?\s*(\d+)')
_FACTORIAL = re.compile(r'(\d+)\s*!')
_PARSE_CACHE_SIZE = 4096  # distinct answer strings kept parsed per worker


class TooLargeToEvaluate(ValueError):
  """The answer would make sympy build an astronomically large number."""


def _power_nesting(s: str) -> int:
  """Depth of ``^`` nested inside the exponent of another ``^``."""
  best, stack = 0, []  # stack of (brace depth at which an exponent opened)
  depth = 0
  powers_open = 0
  for i, ch in enumerate(s):
    if ch in '{(':
      depth += 1
    elif ch in '})':
      depth -= 1
      while stack and stack[-1] > depth:
        stack.pop()
    elif ch == '^':
      powers_open = len(stack) + 1
      best = max(best, powers_open)
      stack.append(depth + 1)
  return best


def check_size(s: str) -> None:
  """Raise ``TooLargeToEvaluate`` if parsing ``s`` could hang sympy."""
  if _power_nesting(s) >= 3:
    raise TooLargeToEvaluate(f'power tower in {s[:60]!r}')
  for base, exp in _POWER.findall(s):
    if float(base) > 1 and int(exp) * math.log10(float(base)) > _MAX_DIGITS:
      raise TooLargeToEvaluate(f'{base}^{exp} has too many digits')
  for n in _FACTORIAL.findall(s):
    if int(n) > 2000:
      raise TooLargeToEvaluate(f'{n}! has too many digits')


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parse(s: str):
  """sympy object for a normalised scalar answer (raises on failure).

  Cached: a gold answer is compared with every sample of its problem, and
  sympy objects are immutable. Failures are not cached (they re-raise).
  """
  check_size(s)
  expr = latex2sympy(s)
  if isinstance(expr, sympy.Eq) and isinstance(expr.lhs, sympy.Symbol):
    expr = expr.rhs  # "x=5" written in a form normalisation missed
  return expr


def _numbers_equal(a, b) -> bool:
  if a.is_Rational and b.is_Rational:
    return a == b
  if a.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan) or b.has(
      sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
    return a == b
  va, vb = complex(sympy.N(a, 30)), complex(sympy.N(b, 30))
  return abs(va - vb) <= _REL_TOL * max(abs(va), abs(vb), 1e-300)


def sympy_equal(a, b) -> bool:
  """Equivalence of two parsed sympy objects."""
  if a == b:
    return True
  if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
    return (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)
            and a.shape == b.shape
            and all(sympy_equal(x, y) for x, y in zip(a, b)))
  if isinstance(a, sympy.Set) or isinstance(b, sympy.Set):
    return isinstance(a, sympy.Set) and isinstance(b, sympy.Set) and (
        a == b or sympy.simplify(a.symmetric_difference(b)) == sympy.S.EmptySet)
  if isinstance(a, sympy.Eq) and isinstance(b, sympy.Eq):
    da, db = a.lhs - a.rhs, b.lhs - b.rhs
    return sympy.simplify(da - db) == 0 or sympy.simplify(da + db) == 0
  if not (isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr)):
    return False
  if a.is_number and b.is_number:
    return _numbers_equal(a, b)
  return sympy.simplify(a - b) == 0


def _is_canonical_number(s: str) -> bool:
  """True for an integer or reduced ``p/q`` exactly as ``canonical_number`` writes it.

  latex2sympy parses such a string to a sympy ``Rational`` of the same value,
  which ``sympy_equal`` compares exactly, so two different canonical strings
  are never equal and need no parsing.
  """
  return math_normalize.canonical_number(s) == s


def scalars_equal(gold: str, pred: str) -> bool:
  """Equivalence of two normalised scalar answers."""
  if gold == pred:
    return True
  if _is_canonical_number(gold) and _is_canonical_number(pred):
    return False  # distinct reduced p/q strings: distinct rationals
  try:
    a, b = parse(gold), parse(pred)
  except TooLargeToEvaluate:
    return False
  except Exception:  # unparseable LaTeX: only the exact string could match
    return False
  try:
    return bool(sympy_equal(a, b))
  except (TypeError, ValueError, AttributeError, RecursionError,
          NotImplementedError, sympy.SympifyError):
    return False


def _multiset_equal(gold: tuple[str, ...], pred: tuple[str, ...]) -> bool:
  remaining = list(pred)
  for g in gold:
    match = next((i for i, p in enumerate(remaining) if answers_equal(g, p)),
                 None)
    if match is None:
      return False
    remaining.pop(match)
  return not remaining


def answers_equal(gold: str, pred: str) -> bool:
  """Equivalence of two *normalised* answers (see ``math_normalize``)."""
  if gold == pred:
    return True
  gs, ps = math_structure.parse_structure(gold), math_structure.parse_structure(pred)
  if gs is None and ps is None:
    return scalars_equal(gold, pred)
  if gs is None or ps is None or gs.kind != ps.kind or gs.shape != ps.shape:
    return False
  if gs.kind == 'set':
    return _multiset_equal(gs.items, ps.items)
  return all(answers_equal(g, p) for g, p in zip(gs.items, ps.items))
