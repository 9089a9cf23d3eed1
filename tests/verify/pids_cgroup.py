"""A pids cgroup that bounds the tests of the no-bubblewrap fallback.

The fallback runs fork bombs as an unprivileged uid under RLIMIT_NPROC; if that
protection had a bug, the test itself must not take the machine down. So each
fallback vector runs in a child Python process placed (before exec) in its own
pids cgroup with ``pids.max`` set: whatever the sandbox does, that process tree
cannot grow past the bound, and closing the cgroup SIGKILLs whatever is left.
cgroup v1 (``/sys/fs/cgroup/pids``) and v2 (``pids`` in the root's
``cgroup.subtree_control``) are supported; ``available()`` says whether either
is writable here (root on a host that mounts it).
"""

import os
import signal
import time
import uuid

_V1 = '/sys/fs/cgroup/pids'
_V2 = '/sys/fs/cgroup'


def _base() -> str | None:
  if os.geteuid() != 0:
    return None
  if os.path.exists(os.path.join(_V1, 'cgroup.procs')):
    return _V1
  try:
    with open(os.path.join(_V2, 'cgroup.subtree_control')) as f:
      return _V2 if 'pids' in f.read().split() else None
  except OSError:
    return None


def available() -> bool:
  return _base() is not None


class PidsCgroup:
  """``with PidsCgroup(max_pids) as cg:`` then ``Popen(..., preexec_fn=cg.enter)``."""

  def __init__(self, max_pids: int):
    base = _base()
    if base is None:
      raise RuntimeError('no writable pids cgroup here (needs root and cgroup pids)')
    self.path = os.path.join(base, f'restem_test_{uuid.uuid4().hex[:12]}')
    self.max_pids = max_pids

  def __enter__(self) -> 'PidsCgroup':
    os.mkdir(self.path)
    with open(os.path.join(self.path, 'pids.max'), 'w') as f:
      f.write(str(self.max_pids))
    return self

  def enter(self) -> None:
    """preexec_fn: move the forked child into this cgroup before it execs."""
    with open(os.path.join(self.path, 'cgroup.procs'), 'w') as f:
      f.write(str(os.getpid()))

  def pids(self) -> list[int]:
    with open(os.path.join(self.path, 'cgroup.procs')) as f:
      return [int(p) for p in f.read().split()]

  def kill_all(self, wait_s: float = 5.0) -> int:
    """SIGKILL every process in the cgroup until it is empty; how many were left."""
    left = len(self.pids())
    deadline = time.monotonic() + wait_s
    while (pids := self.pids()) and time.monotonic() < deadline:
      for pid in pids:
        try:
          os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
          pass
      time.sleep(0.02)
    return left

  def __exit__(self, *exc) -> None:
    self.kill_all()
    for _ in range(100):
      try:
        os.rmdir(self.path)
        return
      except OSError:
        time.sleep(0.05)
