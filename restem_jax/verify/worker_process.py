"""Parent-side handles on verifier worker processes (used by ``pool.py``).

``WorkerProcess`` owns one ``python -m restem_jax.verify.worker`` process and
its two pipes; ``WorkerHandle`` is a pool slot: the current process plus the
jobs sent to it (the first is running) and the running job's deadline. Killing always targets the
worker's whole process group (it runs in its own session), so helpers it
started die with it.
"""

import collections
import os
import signal
import subprocess
import sys
import time
from multiprocessing import connection

_START_TIMEOUT_S = 120.0
_PIPELINE_BYTES = 32 << 10  # below a Linux pipe's 64 KiB: send never blocks
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
  """A pool slot: a live ``WorkerProcess`` and the jobs sent to it.

  Jobs are pipelined: up to the pool's window of jobs may wait in the
  worker's pipe, so a fast checker is not idle for a round trip through the
  pool per item. The worker answers them in order; ``job`` (the head) is the
  one running, and ``deadline`` is the head's.
  """

  def __init__(self, config):
    self._config = config
    self._spare = None  # (WorkerProcess, its start time) started ahead
    self._spawn()

  def _spawn(self) -> None:
    started = time.monotonic()
    if self._spare is not None:
      (self.process, started), self._spare = self._spare, None
    else:
      self.process = WorkerProcess(self._config)
    self.ready = False
    self.jobs: collections.deque = collections.deque()
    self._sizes: collections.deque[int] = collections.deque()  # pickled, per job
    self.pipe_bytes = 0  # sum of ``_sizes``
    self.deadline = float('inf')
    self.start_deadline = started + _START_TIMEOUT_S
    self.jobs_done = 0

  @property
  def job(self):
    """The job the worker is running (the oldest unanswered), or None."""
    return self.jobs[0] if self.jobs else None

  @property
  def reader(self):
    return self.process.reader

  def fits(self, message: bytes) -> bool:
    """True if ``message`` can be queued behind the jobs in flight.

    The bytes sent but not yet read by the worker must stay below the pipe's
    capacity, so ``send`` never blocks the pool's dispatcher thread behind a
    hung worker.
    """
    return not self.jobs or self.pipe_bytes + len(message) <= _PIPELINE_BYTES

  def send(self, pending, message: bytes, deadline: float) -> bool:
    """Queue ``pending`` (pickled as ``message``); False if the worker is gone.

    ``deadline`` applies only if the worker was idle; otherwise the job's
    deadline starts when it becomes the head (see ``pop_head``).
    """
    if not self.jobs:
      self.deadline = deadline
    self.jobs.append(pending)
    self._sizes.append(len(message))
    self.pipe_bytes += len(message)
    try:
      self.process.writer.send_bytes(message)
    except (OSError, ValueError):
      return False
    return True

  def pop_head(self, next_deadline: float):
    """Remove the answered head; the next job's deadline is ``next_deadline``."""
    head = self.jobs.popleft()
    self.pipe_bytes -= self._sizes.popleft()
    self.jobs_done += 1
    self.deadline = next_deadline if self.jobs else float('inf')
    return head

  def take_all(self) -> list:
    """Remove and return every job in flight (the worker is being replaced)."""
    jobs = list(self.jobs)
    self.jobs.clear()
    self._sizes.clear()
    self.pipe_bytes = 0
    self.deadline = float('inf')
    return jobs

  def recv(self):
    return self.process.reader.recv()

  def exit_code(self) -> str:
    return self.process.exit_code()

  def prepare_spare(self) -> None:
    """Start the next process now, so a recycle does not wait for its imports.

    Its ``('ready', pid)`` waits in its pipe until ``retire`` swaps it in.
    """
    if self._spare is None:
      self._spare = (WorkerProcess(self._config), time.monotonic())

  def processes(self) -> list[WorkerProcess]:
    """The current process and the spare, if one was started."""
    return [self.process] + ([self._spare[0]] if self._spare else [])

  def retire(self) -> WorkerProcess:
    """Detach the current process (to be stopped or killed) and replace it
    with the spare, or a new process if none was started."""
    old = self.process
    self._spawn()
    return old
