"""The result of checking one sample: a status and the reason for it.

A verdict is never a bare 0/1: ``detail`` says why (``no_answer``,
``wrong_answer:test=3``, ``deadline_exceeded`` ...), so a silent zero reward can
always be traced back to its cause.
"""

import dataclasses

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
  """
  status: str
  detail: str = ''

  def __post_init__(self):
    if self.status not in STATUSES:
      raise ValueError(
          f'Verdict.status must be one of {STATUSES}, got {self.status!r}')

  @property
  def reward(self) -> float:
    """ReST-EM's binary reward: 1.0 iff the sample is correct."""
    return 1.0 if self.status == CORRECT else 0.0

  @property
  def is_correct(self) -> bool:
    return self.status == CORRECT
