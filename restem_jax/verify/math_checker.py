"""The math reward: extract the final answer, normalise, compare with the gold.

Used for MATH, GSM8K and the toy arithmetic task. ``check_math`` is pure but
may run sympy for a long time on adversarial input; in training it runs inside
``VerifierPool`` workers, which enforce the per-item deadline.
"""

from restem_jax.verify import verdict as verdict_lib
from restem_jax.verify.math_extract import extract_answer
from restem_jax.verify.math_normalize import normalize_answer

__all__ = ['check_math', 'extract_answer', 'normalize_answer', 'answers_match']


def answers_match(gold: str, pred: str) -> bool:
  """True if two raw final answers are equivalent."""
  from restem_jax.verify import math_equiv  # sympy: imported only when needed
  gold_n, pred_n = normalize_answer(gold), normalize_answer(pred)
  if gold_n == pred_n:
    return True
  return math_equiv.answers_equal(gold_n, pred_n)


def check_math(sample: str, gold: str) -> verdict_lib.Verdict:
  """Verdict for a full solution text against a gold final answer.

  Args:
    sample: the model's solution text; its final answer is found with
      ``extract_answer``.
    gold: the reference final answer (e.g. ``\\frac{1}{2}``), not a solution.
  """
  if not isinstance(sample, str) or not isinstance(gold, str):
    raise TypeError('check_math expects (sample: str, gold: str), got '
                    f'({type(sample).__name__}, {type(gold).__name__})')
  if not gold.strip():
    return verdict_lib.Verdict(verdict_lib.ERROR, 'empty_gold')
  pred = extract_answer(sample)
  if pred is None:
    return verdict_lib.Verdict(verdict_lib.ERROR, 'no_answer')
  if answers_match(gold, pred):
    return verdict_lib.Verdict(verdict_lib.CORRECT, 'equivalent')
  return verdict_lib.Verdict(verdict_lib.INCORRECT, 'not_equivalent')
