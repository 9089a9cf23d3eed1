"""Whether a run must refuse to execute sampled code without the bubblewrap sandbox.

`config.verifier.require_bubblewrap=True` always requires it. On a multi-process run
(a pod: many hosts, usually shared credentials and storage) code tasks require it too:
there, running model-written programs with rlimits only is never the default.
`launch/setup_worker.sh --system-packages` installs bubblewrap on every worker.
"""

from __future__ import annotations

from typing import Iterable

from restem_jax.distributed import hosts
from restem_jax.verify.checkers import CODE_TASKS


def require_bubblewrap(configured: bool, verifier_tasks: Iterable[str]) -> bool:
  return configured or (hosts.count() > 1 and any(t in CODE_TASKS for t in verifier_tasks))
