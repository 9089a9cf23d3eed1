"""Parent-side handles on verifier worker processes (used by ``pool.py``).

``WorkerProcess`` owns one ``python -m restem_jax.verify.worker`` process and
its two pipes; ``WorkerHandle`` is a pool slot: the current process plus the
job it is running and that job's deadline. Killing always targets the
worker's whole process group (it runs in its own session), so helpers it
started die with it.
"""

import os
import signal
import subprocess
import sys
import time
from multiprocessing import connection

_START_TIMEOUT_S = 120.0
_STOP_GRACE_S = 5.0
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _worker_env() -> dict[str, str]:
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join(
      p for p in (_PACKAGE_ROOT, env.get('PYTHONPATH')) if p)
  env['JAX_PLATFORMS'] = 'cpu'  # belt and braces: jax imports are blocked
  env['RESTEM_POOL_PID'] = str(os.getpid())
  return env


class WorkerProcess:
  """One worker interpreter and the parent's ends of its pipes."""

  def __init__(self, config):
    child_r, parent_w = os.pipe()
    parent_r, child_w = os.pipe()
    try:
      self.proc = subprocess.Popen(
          [sys.executable, '-m', 'restem_jax.verify.worker', str(child_r),
           str(child_w)],
          pass_fds=(child_r, child_w), start_new_session=True,
          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
          env=_worker_env(), cwd=_PACKAGE_ROOT)
    finally:
      os.close(child_r)
      os.close(child_w)
    self.reader = connection.Connection(parent_r, writable=False)
    self.writer = connection.Connection(parent_w, readable=False)
    self.kill_at = None
    try:
      self.writer.send(('config', config))
    except OSError:
      pass  # died already: the pool sees EOF on reader and replaces it

  def _signal_group(self, sig) -> None:
    try:
      os.killpg(self.proc.pid, sig)
    except (ProcessLookupError, PermissionError):
      pass

  def terminate(self, grace_s: float) -> None:
    """SIGTERM now; ``reap`` sends SIGKILL once ``grace_s`` has passed."""
    self._signal_group(signal.SIGTERM)
    self.kill_at = time.monotonic() + grace_s

  def stop(self) -> None:
    """Ask politely (``None`` job); SIGKILL later if it does not exit."""
    try:
      self.writer.send(None)
    except OSError:
      pass
    self.kill_at = time.monotonic() + _STOP_GRACE_S

  def reap(self, now: float) -> bool:
    """Collect the process if it exited; escalate to SIGKILL when due."""
    if self.proc.poll() is None:
      if self.kill_at is not None and now >= self.kill_at:
        self._signal_group(signal.SIGKILL)
      return False
    self._signal_group(signal.SIGKILL)  # leftovers of its session
    self.reader.close()
    self.writer.close()
    return True

  def wait_dead(self) -> None:
    while not self.reap(time.monotonic()):
      time.sleep(0.02)

  def exit_code(self) -> str:
    try:
      code = self.proc.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
      return 'still_running'
    return f'signal={-code}' if code < 0 else f'exit={code}'


class WorkerHandle:
  """A pool slot: a live ``WorkerProcess`` and the job it is running."""

  def __init__(self, config):
    self._config = config
    self._spawn()

  def _spawn(self) -> None:
    self.process = WorkerProcess(self._config)
    self.ready = False
    self.job = None
    self.deadline = float('inf')
    self.start_deadline = time.monotonic() + _START_TIMEOUT_S
    self.jobs_done = 0

  @property
  def reader(self):
    return self.process.reader

  def send(self, pending, deadline: float) -> bool:
    """Hand ``pending`` to the worker; False if the worker is gone."""
    self.job, self.deadline = pending, deadline
    try:
      self.process.writer.send((pending.item_id, *pending.job))
    except (OSError, ValueError):
      return False
    return True

  def recv(self):
    return self.process.reader.recv()

  def exit_code(self) -> str:
    return self.process.exit_code()

  def retire(self) -> WorkerProcess:
    """Detach the current process (to be stopped or killed) and respawn."""
    old = self.process
    self._spawn()
    return old
