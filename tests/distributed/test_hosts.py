"""Process gating helpers (single process here; 2-process runs: test_multihost.py)."""

from restem_jax.distributed import hosts
from restem_jax.loop import sandbox_policy
from restem_jax.verify.verdict import Verdict


class _Done:
  def __init__(self, v):
    self._v = v

  def result(self):
    return self._v


def test_single_process_does_everything():
  assert hosts.count() == 1 and hosts.is_writer()
  assert all(hosts.owns(i) for i in range(5))
  assert hosts.agree([True, False]) == [True, False]
  hosts.barrier("noop")
  submit = lambda pool, p, t: _Done(Verdict("correct" if t == p else "incorrect"))
  assert [[v.status for v in row] for row in hosts.verify_split(None, ["a", "b"],
                                                               [["a", "x"], ["y", "b"]],
                                                               submit)] == [
      ["correct", "incorrect"], ["incorrect", "correct"]]


def test_code_tasks_on_pods_require_bubblewrap(monkeypatch):
  assert not sandbox_policy.require_bubblewrap(False, {"apps", "math"})
  assert sandbox_policy.require_bubblewrap(True, {"math"})
  monkeypatch.setattr(hosts, "count", lambda: 2)
  assert sandbox_policy.require_bubblewrap(False, {"apps"})
  assert not sandbox_policy.require_bubblewrap(False, {"math", "toy_arith"})


def test_code_tasks_are_refused_up_front_without_any_sandbox(monkeypatch):
  import pytest
  from restem_jax.verify import bubblewrap, sandbox
  from restem_jax.verify.sandbox_config import SandboxConfig
  monkeypatch.setattr(bubblewrap, "probe", lambda uid=65534: bubblewrap.Probe(False, "no bwrap"))
  monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
  sandbox_policy.check_code_sandbox(SandboxConfig(), {"math", "gsm8k"})
  with pytest.raises(sandbox.SandboxUnavailable, match="allow_unsandboxed"):
    sandbox_policy.check_code_sandbox(SandboxConfig(), {"math", "humaneval"})
  sandbox_policy.check_code_sandbox(SandboxConfig(allow_unsandboxed=True), {"humaneval"})
