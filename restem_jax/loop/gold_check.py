"""Start-up check that the checker accepts the human references of the validation split.

A checker that rejects correct answers (a wrong answer column, a too-strict format) would
make ReST-EM keep nothing and learn nothing; the run would look like a weak model. When
the task names a reference column, each validation problem's reference solution is
verified as if it were a sample; more than `max_failures` rejections stop the run before
any model work, listing the failing problems with their verdicts.
"""

from __future__ import annotations

from typing import Sequence

from restem_jax.loop.evaluation import greedy_eval
from restem_jax.tasks.problem import Problem

_LISTED = 10


class GoldCheckError(ValueError):
  """The checker rejects more human references than allowed."""


def failures(problems: Sequence[Problem], pool) -> list[tuple[Problem, object]]:
  """(problem, verdict) for every problem whose reference solution the checker rejects."""
  futures = [greedy_eval.submit(pool, p, p.reference_solution) for p in problems]
  return [(p, f.result()) for p, f in zip(problems, futures) if not f.result().is_correct]


def require_references_pass(problems: Sequence[Problem], pool, max_failures: int) -> int:
  """Raises `GoldCheckError` when more than `max_failures` references fail; returns the count."""
  failed = failures([p for p in problems if p.reference_solution], pool)
  if len(failed) > max_failures:
    listed = "\n".join(f"  {p.id}: {v.status} ({v.detail[:200]})" for p, v in failed[:_LISTED])
    more = f"\n  ... and {len(failed) - _LISTED} more" if len(failed) > _LISTED else ""
    raise GoldCheckError(
        f"the checker rejects the reference solution of {len(failed)} of {len(problems)} "
        f"validation problems (verifier.max_gold_failures={max_failures}):\n{listed}{more}\n"
        "Fix the checker or the answer/reference columns (python -m restem_jax.verify "
        "--checker=SPEC --input=ROWS.jsonl --check-gold=FIELD lists them too).")
  return len(failed)
