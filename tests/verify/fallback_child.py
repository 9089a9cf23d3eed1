"""Runs one sandbox call in the no-bubblewrap fallback and prints its result as JSON.

Started by ``test_sandbox_vectors.py`` inside a pids cgroup (``pids_cgroup.py``):
``python fallback_child.py '<json request>'``. Request: ``call`` (``run_python`` or
``check_asserts``), ``code``, ``config`` (SandboxConfig fields) and ``kwargs``.
"""

import dataclasses
import json
import sys
import time

from restem_jax.verify import code_runner
from restem_jax.verify.sandbox import isolation_mode, run_python
from restem_jax.verify.sandbox_config import SandboxConfig


def main(request: dict) -> dict:
  config = SandboxConfig(**request['config'])
  if request['call'] == 'check_asserts':
    verdict = code_runner.check_asserts(request['code'], ['assert True'], '', config)
    return {'status': verdict.status, 'detail': verdict.detail}
  isolation_mode(config)  # its probes run once per process, outside the timing
  start = time.monotonic()
  result = run_python({'main.py': request['code']}, 'main.py', config,
                      **request['kwargs'])
  out = dataclasses.asdict(result)
  out['wall'] = time.monotonic() - start
  out['stdout'] = result.stdout.decode('latin-1')
  out['stderr'] = result.stderr.decode('latin-1')
  return out


if __name__ == '__main__':
  print(json.dumps(main(json.loads(sys.argv[1]))))
