"""Whether a run must refuse to execute sampled code without the bubblewrap sandbox.

`config.verifier.require_bubblewrap=True` always requires it. On a multi-process run
(a pod: many hosts, usually shared credentials and storage) code tasks require it too:
there, running model-written programs with rlimits only is never the default.
`launch/setup_worker.sh --system-packages` installs bubblewrap on every worker.

`check_code_sandbox` asks the verifier, before any model is loaded, whether the run's code
tasks can run at all here (bubblewrap, the root uid drop, or
`config.verifier.allow_unsandboxed=True`), so a refusal is the first thing a run prints.
"""

from __future__ import annotations

from typing import Iterable

from restem_jax.distributed import hosts
from restem_jax.verify import checker_spec, sandbox
from restem_jax.verify.checkers import CODE_TASKS
from restem_jax.verify.sandbox_config import SandboxConfig


def runs_code(checker_key: str) -> bool:
  """A code task's checker, or the `python_tests` checker of `verifier.checker`."""
  spec = checker_spec.from_key(checker_key)
  return checker_key in CODE_TASKS or (spec is not None and spec.spec == "python_tests")


def require_bubblewrap(configured: bool, checker_keys: Iterable[str]) -> bool:
  return configured or (hosts.count() > 1 and any(runs_code(k) for k in checker_keys))


def check_code_sandbox(config: SandboxConfig, checker_keys: Iterable[str]) -> None:
  """Raise ``SandboxUnavailable`` now if the run's checkers run code that cannot run
  safely under ``config`` (before any model work)."""
  if any(runs_code(k) for k in checker_keys):
    sandbox.isolation_mode(config)
