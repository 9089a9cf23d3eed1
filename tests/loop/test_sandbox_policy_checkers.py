"""On a pod, `verifier.checker=python_tests` runs model-written code: bubblewrap is required."""

from restem_jax.distributed import hosts
from restem_jax.loop import sandbox_policy
from restem_jax.verify.checker_spec import CheckerSpec


def test_python_tests_checker_requires_bubblewrap_on_pods(monkeypatch):
  code, numeric = CheckerSpec("python_tests").key(), CheckerSpec("numeric").key()
  assert not sandbox_policy.require_bubblewrap(False, {code})  # one process: rlimits suffice
  monkeypatch.setattr(hosts, "count", lambda: 2)
  assert sandbox_policy.require_bubblewrap(False, {code, numeric})
  assert not sandbox_policy.require_bubblewrap(False, {numeric, "math"})
