"""VerifierPool pipelining: jobs sent ahead to a worker keep every guarantee.

A worker gets several jobs at once; these tests check that a job's deadline
starts when it starts running (not when it was sent), that the jobs queued
behind one that hangs or kills its worker still get their own verdicts, and
that large samples queued behind a hung job never block the pool, and that
a recycled worker's replacement is started ahead of time.
"""

import json
import os
import time

from restem_jax.verify.pool import VerifierPool

_OK = ('toy_arith', r'\boxed{4}', {'answer': '4'})


def _warm(pool):
  assert pool.submit(*_OK).result(timeout=120).is_correct


def test_deadline_counts_from_start_not_from_send():
  with VerifierPool(1, timeout_s=2.0, recheck_timeouts=False) as pool:
    _warm(pool)
    verdicts = pool.map([('_debug_sleep', '1.2', {})] * 3)  # 3.6 s in all
  assert [v.status for v in verdicts] == ['correct'] * 3


def test_jobs_behind_a_hung_job_are_requeued_even_when_large():
  big = ' ' * 20_000  # 5 of these exceed a pipe's 64 KiB buffer
  jobs = [('_debug_sleep', '60', {})] + [
      ('toy_arith', big + rf'\boxed{{{i}}}', {'answer': str(i)}) for i in range(5)]
  with VerifierPool(1, timeout_s=1.0, recheck_timeouts=False) as pool:
    _warm(pool)
    start = time.monotonic()
    futures = [pool.submit(*job) for job in jobs]
    verdicts = [f.result(timeout=60) for f in futures]
    assert time.monotonic() - start < 30
  assert verdicts[0].status == 'timeout'
  assert all(v.is_correct for v in verdicts[1:]), verdicts


def test_jobs_behind_a_job_that_kills_its_worker_get_their_verdicts():
  with VerifierPool(1, timeout_s=5.0) as pool:
    _warm(pool)
    verdicts = pool.map([('_debug_exit', '7', {})] + [_OK] * 4)
    assert pool.metrics()['worker_restarts'] == 1
  assert verdicts[0].status == 'error'
  assert verdicts[0].detail.startswith('worker_died')
  assert all(v.is_correct for v in verdicts[1:])


def _wait_until_both_workers_answer(pool):
  for _ in range(100):
    verdicts = pool.map([('_debug_modules', '', {})] * 2)
    if len({json.loads(v.detail)['pid'] for v in verdicts}) == 2:
      return
    time.sleep(0.5)
  raise AssertionError('the second worker never started')


def test_backlog_is_shared_between_workers():
  with VerifierPool(2, timeout_s=10.0, recheck_timeouts=False) as pool:
    _wait_until_both_workers_answer(pool)
    start = time.monotonic()
    verdicts = pool.map([('_debug_sleep', '1.0', {})] * 4)
    elapsed = time.monotonic() - start
  assert all(v.status == 'correct' for v in verdicts)
  assert elapsed < 3.5  # 2 per worker: ~2 s; all on one worker: >= 4 s


def _started_s_after_boot(pid: int) -> float:
  fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
  return int(fields[19]) / os.sysconf('SC_CLK_TCK')  # field 22: starttime


def test_recycle_swaps_in_a_worker_started_ahead():
  with VerifierPool(1, timeout_s=20.0, recycle_after=3) as pool:
    _warm(pool)  # job 1 of the first worker
    # Its third and last job is sent with the slow one: the replacement
    # starts then, not when the first worker retires after that job.
    futures = [pool.submit('_debug_sleep', '3', {}), pool.submit(*_OK)]
    assert [f.result(timeout=60).status for f in futures] == ['correct'] * 2
    last_job_done = time.clock_gettime(time.CLOCK_BOOTTIME)
    replacement = pool.submit('_debug_modules', '', {}).result(timeout=60)
    pid = json.loads(replacement.detail)['pid']
    assert _started_s_after_boot(pid) < last_job_done - 1.0
    assert pool.metrics()['worker_recycles'] == 1
