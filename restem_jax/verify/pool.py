"""``VerifierPool``: runs checkers in persistent CPU-only worker processes.

A host-side object (no module-global pool): the E-step submits jobs and keeps
sampling while futures resolve. Guarantees:

- every job gets a ``Verdict`` (correct / incorrect / timeout / error with a
  detail), never an exception or a silent 0;
- a job not answered ``timeout_s`` (+ ``slack_s``) after it started on a
  worker ends as ``timeout``: the worker's process group gets SIGTERM, then SIGKILL
  after ``kill_grace_s``, and a fresh worker is started;
- a worker that dies (a checker crashed it, a sample killed its group, the
  OOM killer) turns its job into ``error:worker_died`` and is replaced;
- workers are recycled after ``recycle_after`` jobs (5,000: sympy's caches
  are bounded, a math worker levels off near 70 MiB within 1,500 jobs, and
  each fresh worker re-pays ~1.5 s of cold parser and cache state); the
  replacement is started once half of the old worker's jobs are sent, so
  the recycle does not stall on its imports (~0.7 s CPU);
- up to ``max_in_flight`` jobs are sent to a worker ahead of time (the backlog
  shared evenly between workers), so a checker that takes a few milliseconds
  does not wait for a round trip through this process per item; a worker
  runs them in order, and those not yet started when it is replaced run again
  on another worker;
- a ``timeout`` verdict is re-checked once (the job runs again, first in the
  queue) and the second verdict is final: a correct program unlucky enough to
  meet a load spike is not scored 0 for it. ``metrics()['timeout_rechecks']``
  counts the re-checks.

Workers are fresh interpreters (``python -m restem_jax.verify.worker``), i.e.
the spawn start method done by hand: ``multiprocessing``'s own spawn and
forkserver contexts re-import the parent's ``__main__`` in the child, which in
the ReST-EM driver imports JAX. Workers block JAX imports outright.
"""

import collections
import concurrent.futures
import dataclasses
import itertools
import os
import threading
import time
from multiprocessing import connection
from multiprocessing import reduction
from typing import Sequence

from restem_jax.verify import checkers as checkers_lib
from restem_jax.verify import worker
from restem_jax.verify import worker_process
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.verdict import ERROR, STATUSES, TIMEOUT, Verdict

Job = tuple[str, str, dict]


@dataclasses.dataclass
class _Pending:
  item_id: int
  job: Job
  future: concurrent.futures.Future
  rechecked: bool = False


class VerifierPool:
  """Persistent pool of verifier worker processes.

  Args:
    num_workers: worker processes (each runs one job at a time).
    timeout_s: per-item wall deadline in seconds, counted from when the item
      starts on a worker (after the jobs sent ahead of it): a
      generous safety net over all of a sample's runs (code checkers limit
      each test's CPU time, see ``SandboxConfig.cpu_time_s``).
    recycle_after: restart a worker after this many jobs.
    sandbox: limits for code samples; its ``timeout_s`` is capped at ``timeout_s``.
    memory_mb: address-space limit of each worker (sympy runs there).
    slack_s: grace past ``timeout_s`` before a silent worker is killed.
    kill_grace_s: time between SIGTERM and SIGKILL.
    recheck_timeouts: run a job that ended as ``timeout`` once more.
    max_in_flight: jobs sent ahead to one worker (1: one at a time).
  """

  def __init__(self, num_workers: int, timeout_s: float,
               recycle_after: int = 5000, sandbox: SandboxConfig | None = None,
               memory_mb: int = 2048, slack_s: float = 1.0,
               kill_grace_s: float = 0.5, recheck_timeouts: bool = True,
               max_in_flight: int = 16):
    if (num_workers < 1 or timeout_s <= 0 or recycle_after < 1
        or memory_mb < 256 or max_in_flight < 1):
      raise ValueError(
          'VerifierPool needs num_workers >= 1, timeout_s > 0, recycle_after '
          f'>= 1, memory_mb >= 256, max_in_flight >= 1; got {num_workers}, '
          f'{timeout_s}, {recycle_after}, {memory_mb}, {max_in_flight}')
    sandbox = sandbox or SandboxConfig()
    sandbox = dataclasses.replace(
        sandbox, timeout_s=min(sandbox.timeout_s, timeout_s))
    self._worker_config = worker.WorkerConfig(memory_mb, sandbox)
    self._timeout_s, self._slack_s = timeout_s, slack_s
    self._kill_grace_s, self._recycle_after = kill_grace_s, recycle_after
    self._recheck_timeouts = recheck_timeouts
    self._max_in_flight = max_in_flight
    self._lock = threading.Lock()
    self._queue: collections.deque[_Pending] = collections.deque()
    self._counts = collections.Counter({s: 0 for s in STATUSES})
    self._ids = itertools.count()
    self._closed = False
    self._wake_r, self._wake_w = os.pipe()
    self._slots = [worker_process.WorkerHandle(self._worker_config)
                   for _ in range(num_workers)]
    self._retiring: list[worker_process.WorkerProcess] = []
    self._thread = threading.Thread(target=self._run, name='VerifierPool',
                                    daemon=True)
    self._thread.start()

  # -- public API ---------------------------------------------------------
  def submit(self, task_name: str, sample: str,
             problem: dict) -> 'concurrent.futures.Future[Verdict]':
    """Queue one job; the future resolves to its ``Verdict``."""
    if not checkers_lib.is_known(task_name) and not task_name.startswith('_debug_'):
      raise ValueError(f'unknown task {task_name!r}; known: '
                       f'{checkers_lib.TASK_NAMES}')
    if not isinstance(sample, str) or not isinstance(problem, dict):
      raise TypeError('submit expects (task_name: str, sample: str, problem: '
                      f'dict), got sample={type(sample).__name__}, '
                      f'problem={type(problem).__name__}')
    future = concurrent.futures.Future()
    with self._lock:
      if self._closed:
        raise RuntimeError('VerifierPool is closed')
      self._queue.append(_Pending(next(self._ids), (task_name, sample, problem),
                                  future))
    os.write(self._wake_w, b'x')
    return future

  def map(self, jobs: Sequence[Job]) -> list[Verdict]:
    """Verdicts for ``jobs``, in order (runs them in parallel)."""
    futures = [self.submit(*job) for job in jobs]
    return [f.result() for f in futures]

  def metrics(self) -> dict[str, int]:
    """Verdict counts so far, plus worker restarts and queue length."""
    with self._lock:
      out = dict(self._counts)
      out['queued'] = len(self._queue)
    return out

  def close(self, wait: bool = True) -> None:
    """Stop accepting jobs; finish queued ones if ``wait`` else fail them."""
    with self._lock:
      if self._closed:
        return
      self._closed = True
      if not wait:
        while self._queue:
          self._resolve(self._queue.popleft(), Verdict(ERROR, 'pool_closed'))
    os.write(self._wake_w, b'x')
    self._thread.join()
    os.close(self._wake_r)
    os.close(self._wake_w)

  def __enter__(self) -> 'VerifierPool':
    return self

  def __exit__(self, *exc) -> None:
    self.close(wait=exc[0] is None)

  def __del__(self):
    if not getattr(self, '_closed', True):
      self.close(wait=False)

  # -- dispatcher thread --------------------------------------------------
  def _resolve(self, pending: _Pending, verdict: Verdict) -> None:
    """Count and deliver a verdict (caller holds the lock); re-check a timeout."""
    if (verdict.status == TIMEOUT and self._recheck_timeouts
        and not pending.rechecked):
      pending.rechecked = True
      self._counts['timeout_rechecks'] += 1
      self._queue.appendleft(pending)
      return
    self._counts[verdict.status] += 1
    if not pending.future.done():
      pending.future.set_result(verdict)

  def _window(self) -> int:
    """Jobs to keep in flight per worker: the backlog shared evenly, capped."""
    outstanding = len(self._queue) + sum(len(s.jobs) for s in self._slots)
    share = -(-outstanding // len(self._slots))
    return max(1, min(self._max_in_flight, share))

  def _take(self, slot):
    """Pop the next job and its pickled message if it fits ``slot``, else None."""
    with self._lock:
      while self._queue:
        candidate = self._queue[0]
        message = reduction.ForkingPickler.dumps(
            (candidate.item_id, *candidate.job))
        if not slot.fits(message):
          return None
        self._queue.popleft()
        if candidate.future.running() or \
            candidate.future.set_running_or_notify_cancel():
          return candidate, message
    return None

  def _dispatch(self) -> None:
    now = time.monotonic()
    window = self._window()
    for slot in self._slots:
      while (slot.ready and len(slot.jobs) < window
             and slot.jobs_done + len(slot.jobs) < self._recycle_after):
        taken = self._take(slot)
        if taken is None:
          break
        pending, message = taken
        if not slot.send(pending, message, now + self._timeout_s + self._slack_s):
          if slot.job is pending:
            self._replace(slot, Verdict(ERROR, 'worker_died:before_job'))
          break  # else EOF on its reader answers the job it was running
        if 2 * (slot.jobs_done + len(slot.jobs)) >= self._recycle_after:
          slot.prepare_spare()  # half-way: the next one imports meanwhile

  def _replace(self, slot, verdict: Verdict | None) -> None:
    """Retire ``slot``'s process, answer its running job with ``verdict``, respawn.

    Jobs sent behind the running one never started: they go back to the
    front of the queue, in order.
    """
    jobs = slot.take_all()
    with self._lock:
      if verdict is None:
        self._queue.extendleft(reversed(jobs))
      elif jobs:
        self._queue.extendleft(reversed(jobs[1:]))
        self._resolve(jobs[0], verdict)
    self._counts['worker_restarts'] += 1
    old = slot.retire()
    old.terminate(self._kill_grace_s)
    self._retiring.append(old)

  def _handle_message(self, slot) -> None:
    try:
      msg = slot.recv()
    except (EOFError, OSError):
      code = slot.exit_code()
      if slot.job is not None:
        self._replace(slot, Verdict(ERROR, f'worker_died:{code}'))
      else:
        self._replace(slot, None)
      return
    if msg[0] == 'ready':
      slot.ready = True
      return
    item_id, status, detail, *graded = msg  # graded: score, pred, extra (worker.serve)
    if slot.job is not None and slot.job.item_id == item_id:
      head = slot.pop_head(time.monotonic() + self._timeout_s + self._slack_s)
      with self._lock:
        self._resolve(head, Verdict(status, detail, *graded))
      if slot.jobs_done >= self._recycle_after:
        self._counts['worker_recycles'] += 1
        old = slot.retire()
        old.stop()
        self._retiring.append(old)

  def _check_deadlines(self) -> None:
    now = time.monotonic()
    for slot in self._slots:
      if slot.job is not None and now > slot.deadline:
        self._replace(slot, Verdict(TIMEOUT, 'deadline_exceeded'))
      elif not slot.ready and now > slot.start_deadline:
        self._replace(slot, None)
    self._retiring = [h for h in self._retiring if not h.reap(now)]

  def _idle(self) -> bool:
    with self._lock:
      return self._closed and not self._queue and all(
          s.job is None for s in self._slots)

  def _run(self) -> None:
    try:
      while not self._idle():
        self._dispatch()
        waitables = [self._wake_r] + [s.reader for s in self._slots]
        deadlines = [s.deadline for s in self._slots if s.job is not None]
        timeout = 0.5 if not deadlines else max(
            0.0, min(min(deadlines) - time.monotonic(), 0.5))
        for ready in connection.wait(waitables, timeout):
          if ready == self._wake_r:
            os.read(self._wake_r, 4096)
            continue
          self._handle_message(next(s for s in self._slots if s.reader is ready))
        self._check_deadlines()
    finally:
      for slot in self._slots:
        for process in slot.processes():
          process.stop()
          self._retiring.append(process)
      for handle in self._retiring:
        handle.terminate(self._kill_grace_s)
        handle.wait_dead()
