"""Whether a run must refuse to execute sampled code without the bubblewrap sandbox.

`config.verifier.require_bubblewrap=True` always requires it. On a multi-process run
(a pod: many hosts, usually shared credentials and storage) code tasks require it too:
there, running model-written programs with rlimits only is never the default.
`launch/setup_worker.sh --system-packages` installs bubblewrap on every worker.
"""

from __future__ import annotations

from typing import Iterable

from restem_jax.loop import hosts
from restem_jax.verify import checker_spec
from restem_jax.verify.checkers import CODE_TASKS


def runs_code(checker_key: str) -> bool:
  """A code task's checker, or the `python_tests` checker of `verifier.checker`."""
  spec = checker_spec.from_key(checker_key)
  return checker_key in CODE_TASKS or (spec is not None and spec.spec == "python_tests")


def require_bubblewrap(configured: bool, checker_keys: Iterable[str]) -> bool:
  return configured or (hosts.count() > 1 and any(runs_code(k) for k in checker_keys))
