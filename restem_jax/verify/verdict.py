"""The result of checking one sample: a status and the reason for it.

A verdict is never a bare 0/1: ``detail`` says why (``no_answer``,
``wrong_answer:test=3``, ``deadline_exceeded`` ...), so a silent zero reward can
always be traced back to its cause. Checkers that grade (a user checker's float
score) set ``score``; ``pred`` is the extracted answer maj@k votes on; ``extra``
holds a user checker's other fields, kept with the sample.
"""

import dataclasses
from typing import Any, Mapping

CORRECT = 'correct'
INCORRECT = 'incorrect'
TIMEOUT = 'timeout'
ERROR = 'error'
STATUSES = (CORRECT, INCORRECT, TIMEOUT, ERROR)


@dataclasses.dataclass(frozen=True)
class Verdict:
  """Outcome of one check.

  Attributes:
    status: one of ``STATUSES``.
    detail: short machine-readable reason, e.g. ``no_answer`` or
      ``runtime_error:ZeroDivisionError``.
    score: a graded reward (user checkers); the keep decision is ``status``.
    pred: the extracted final answer, if the checker reports one.
    extra: further JSON fields a user checker returned.
  """
  status: str
  detail: str = ''
  score: float | None = None   # graded reward; None: 1.0 iff correct
  pred: str | None = None      # the extracted answer (maj@k); None: none extracted
  extra: Mapping[str, Any] | None = None  # a user checker's further fields (JSON values)

  def __post_init__(self):
    if self.status not in STATUSES:
      raise ValueError(
          f'Verdict.status must be one of {STATUSES}, got {self.status!r}')

  @property
  def reward(self) -> float:
    """ReST-EM's binary reward (1.0 iff correct), or the checker's graded score."""
    if self.score is not None and self.status in (CORRECT, INCORRECT):
      return float(self.score)
    return 1.0 if self.status == CORRECT else 0.0

  @property
  def is_correct(self) -> bool:
    return self.status == CORRECT
