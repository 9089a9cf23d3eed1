"""Entry point of one verifier worker process (``python -m restem_jax.verify.worker``).

Started by ``VerifierPool`` as a fresh interpreter (never forked from the
JAX-holding parent), in its own session. It blocks imports of JAX and other
accelerator frameworks, caps its own address space, asks the kernel to kill
it if the pool dies, then answers jobs read from a pipe until told to stop.
Messages (pickled over ``multiprocessing.connection``):

  pool -> worker: ``('config', WorkerConfig)`` once, then
                  ``(item_id, task_name, sample, problem)`` or ``None`` (stop)
  worker -> pool: ``('ready', pid)`` once, then
                  ``(item_id, status, detail, score, pred, extra)``

Tasks whose names start with ``_debug_`` exist so tests can make a worker
hang, crash or report its imports; the CLI never exposes them.
"""

import ctypes
import dataclasses
import importlib.abc
import json
import os
import resource
import signal
import sys
import time
from multiprocessing import connection

FORBIDDEN_MODULES = ('jax', 'jaxlib', 'flax', 'tensorflow', 'torch')
_PR_SET_PDEATHSIG = 1


@dataclasses.dataclass(frozen=True)
class WorkerConfig:
  """What a worker needs to know; sent once, pickled, after spawn."""
  memory_mb: int
  sandbox: object  # SandboxConfig; typed loosely to keep this module light


class _BlockForbidden(importlib.abc.MetaPathFinder):
  """Refuse to import JAX & co.: a worker must never touch the accelerator."""

  def find_spec(self, fullname, path=None, target=None):
    if fullname.split('.')[0] in FORBIDDEN_MODULES:
      raise ImportError(f'verifier workers must not import {fullname!r} '
                        '(check that restem_jax/__init__.py and the checkers '
                        'stay free of JAX imports)')
    return None


def _debug_task(task: str, sample: str):
  """Test hooks: behave badly on purpose, or report the worker's state."""
  from restem_jax.verify.verdict import CORRECT, Verdict
  if task == '_debug_modules':
    loaded = sorted(m for m in sys.modules if m.split('.')[0] in FORBIDDEN_MODULES)
    return Verdict(CORRECT, json.dumps({'forbidden_loaded': loaded,
                                        'pid': os.getpid()}))
  if task == '_debug_sleep':
    time.sleep(float(sample))
    return Verdict(CORRECT, 'slept')
  if task == '_debug_sleep_once':  # hangs the first time only (marker file)
    if not os.path.exists(sample):
      open(sample, 'w').close()
      time.sleep(60)
    return Verdict(CORRECT, 'second_try')
  if task == '_debug_exit':
    os._exit(int(sample))
  if task == '_debug_killpg':
    os.killpg(0, signal.SIGKILL)
  if task == '_debug_memory':
    bytearray(int(sample))
    return Verdict(CORRECT, 'allocated')
  raise ValueError(f'unknown debug task {task!r}')


def _answer(checkers, task: str, sample: str, problem: dict):
  from restem_jax.verify.verdict import ERROR, Verdict
  try:
    if task.startswith('_debug_'):
      return _debug_task(task, sample), False
    if task not in checkers:
      return Verdict(ERROR, f'unknown_task:{task}'), False
    return checkers[task](sample, problem), False
  except MemoryError:
    return Verdict(ERROR, 'memory_limit_exceeded'), True  # then restart
  except RecursionError:
    return Verdict(ERROR, 'recursion_limit'), False
  except Exception as e:  # a checker bug must still produce a verdict
    return Verdict(ERROR, f'checker_exception:{type(e).__name__}:{e}'[:300]), False


def serve(conn_in, conn_out) -> None:
  """Receive the config, then answer jobs until ``None`` or EOF."""
  tag, config = conn_in.recv()
  if tag != 'config':
    raise RuntimeError(f'worker expected a config message, got {tag!r}')
  limit = config.memory_mb << 20
  resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(
      resource.RLIMIT_AS)[1]))
  from restem_jax.verify import checkers as checkers_lib
  from restem_jax.verify import math_equiv  # noqa: F401  (warm sympy now)
  checkers = checkers_lib.build_checkers(config.sandbox)
  conn_out.send(('ready', os.getpid()))
  while True:
    try:
      job = conn_in.recv()
    except EOFError:
      return
    if job is None:
      return
    item_id, task, sample, problem = job
    verdict, must_restart = _answer(checkers, task, sample, problem)
    conn_out.send((item_id, verdict.status, verdict.detail, verdict.score, verdict.pred,
                   verdict.extra))
    if must_restart:
      return


def main(argv) -> None:
  if len(argv) != 3:
    raise SystemExit('usage: python -m restem_jax.verify.worker READ_FD WRITE_FD')
  sys.meta_path.insert(0, _BlockForbidden())
  ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
  if str(os.getppid()) != os.environ.get('RESTEM_POOL_PID', str(os.getppid())):
    return  # the pool died before the death signal was armed
  conn_in = connection.Connection(int(argv[1]), writable=False)
  conn_out = connection.Connection(int(argv[2]), readable=False)
  serve(conn_in, conn_out)


if __name__ == '__main__':
  main(sys.argv)
