"""VerifierPool: deadlines, crashes, recycling, ordering, no JAX in workers."""

import json
import subprocess
import sys
import textwrap
import time

import pytest

from restem_jax.verify.pool import VerifierPool

from conftest import REPO


@pytest.fixture(scope='module')
def small_pool():
  with VerifierPool(2, timeout_s=2.0, recycle_after=4) as pool:
    yield pool


def test_hung_checker_times_out_and_pool_recovers(small_pool):
  small_pool.map([('toy_arith', r'\boxed{1}', {'answer': '1'})] * 2)  # warm up
  start = time.monotonic()
  hung = small_pool.submit('_debug_sleep', '60', {})
  assert hung.result(timeout=20).status == 'timeout'
  assert time.monotonic() - start < 2 * (2.0 + 1.0) + 3.0  # deadline + slack, re-checked once
  assert small_pool.submit('toy_arith', r'\boxed{3}', {'answer': '3'}).result(30).is_correct


@pytest.mark.parametrize('task,sample', [('_debug_exit', '7'), ('_debug_killpg', '')])
def test_worker_death_is_an_error_verdict_and_respawn(small_pool, task, sample):
  verdict = small_pool.submit(task, sample, {}).result(timeout=30)
  assert verdict.status == 'error' and verdict.detail.startswith('worker_died')
  after = small_pool.map([('toy_arith', r'\boxed{-7}', {'answer': '-7'})] * 3)
  assert all(v.is_correct for v in after)


def test_memory_hog_in_checker_is_an_error(small_pool):
  verdict = small_pool.submit('_debug_memory', str(10**11), {}).result(timeout=30)
  assert verdict.detail == 'memory_limit_exceeded'


def test_map_keeps_order_and_recycles_workers(small_pool):
  before = small_pool.metrics().get('worker_recycles', 0)
  jobs = [('toy_arith', f'\\boxed{{{i}}}', {'answer': str(i if i % 3 else -i)})
          for i in range(1, 13)]
  verdicts = small_pool.map(jobs)
  assert [v.is_correct for v in verdicts] == [bool(i % 3) for i in range(1, 13)]
  assert small_pool.metrics()['worker_recycles'] > before


def test_metrics_count_every_verdict():
  with VerifierPool(1, timeout_s=1.0) as pool:
    pool.map([('toy_arith', r'\boxed{1}', {'answer': '1'}),
              ('toy_arith', r'\boxed{2}', {'answer': '1'}),
              ('toy_arith', 'none', {'answer': '1'}),
              ('_debug_sleep', '30', {})])
    m = pool.metrics()
  assert (m['correct'], m['incorrect'], m['error'], m['timeout']) == (1, 1, 1, 1)


def test_code_sample_killing_group_and_parent_does_not_hurt_pool(small_pool):
  code = ('import os, signal\ntry:\n  os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n'
          '  pass\nos.killpg(0, signal.SIGKILL)\n')
  verdict = small_pool.submit('toy_code', code, {'tests': ['assert True']}).result(30)
  assert verdict.status == 'incorrect'
  ok = small_pool.submit('toy_code', 'def f():\n  return 2', {'tests': ['assert f() == 2']})
  assert ok.result(30).is_correct


def test_bad_submissions_raise_clear_errors(small_pool):
  with pytest.raises(ValueError, match='unknown task .nope.'):
    small_pool.submit('nope', '', {})
  with pytest.raises(TypeError, match='problem=list'):
    small_pool.submit('math', 'x', [])


def test_closed_pool_rejects_and_fails_queued():
  pool = VerifierPool(1, timeout_s=5.0)
  first = pool.submit('_debug_sleep', '0.5', {})
  queued = [pool.submit('toy_arith', r'\boxed{1}', {'answer': '1'}) for _ in range(3)]
  pool.close(wait=False)
  assert all(f.done() for f in queued)
  assert {f.result().status for f in queued} <= {'correct', 'error'}
  with pytest.raises(RuntimeError, match='closed'):
    pool.submit('toy_arith', '', {'answer': '1'})
  del first


def test_workers_never_import_jax_even_when_parent_did(tmp_path):
  script = tmp_path / 'driver.py'
  script.write_text(textwrap.dedent(f'''
      import json, sys
      sys.path.insert(0, {str(REPO)!r})
      import jax  # the E-step driver has JAX loaded
      from restem_jax.verify.pool import VerifierPool
      if __name__ == '__main__':
          with VerifierPool(1, timeout_s=30) as pool:
              v = pool.submit('_debug_modules', '', {{}}).result()
          print(json.dumps({{'parent_has_jax': 'jax' in sys.modules,
                            'worker': json.loads(v.detail)}}))
  '''))
  out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  report = json.loads(out.stdout.strip().split('\n')[-1])
  assert report['parent_has_jax'] is True
  assert report['worker']['forbidden_loaded'] == []


def test_worker_refuses_to_import_jax():
  from restem_jax.verify import worker
  finder = worker._BlockForbidden()
  with pytest.raises(ImportError, match='must not import'):
    finder.find_spec('jax.numpy')
  assert finder.find_spec('sympy') is None
