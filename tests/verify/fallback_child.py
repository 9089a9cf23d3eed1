"""Runs one sandbox call in the no-bubblewrap fallback and prints its result as JSON.

Started by ``test_sandbox_vectors.py`` inside a pids cgroup (``pids_cgroup.py``):
``python fallback_child.py '<json request>'``. Request: ``call`` (``run_python`` or
``check_asserts``), ``code`` (a program, or for ``run_python`` a list of programs
run one after the other, answered with the last one's result), ``config``
(SandboxConfig fields; ``warm_server`` picks ``warm_sandbox.run_python``) and
``kwargs``.
"""

import dataclasses
import json
import sys
import time

from restem_jax.verify import code_runner, sandbox, warm_sandbox
from restem_jax.verify.sandbox_config import SandboxConfig


def main(request: dict) -> dict:
  config = SandboxConfig(**request['config'])
  if request['call'] == 'check_asserts':
    verdict = code_runner.check_asserts(request['code'], ['assert True'], '', config)
    return {'status': verdict.status, 'detail': verdict.detail}
  run_python = warm_sandbox.run_python if config.warm_server else sandbox.run_python
  # Its probes (and a warm server's start) once per process, outside the timing.
  run_python({'main.py': 'pass'}, 'main.py', config)
  codes = request['code'] if isinstance(request['code'], list) else [request['code']]
  for code in codes:
    start = time.monotonic()
    result = run_python({'main.py': code}, 'main.py', config, **request['kwargs'])
  out = dataclasses.asdict(result)
  out['wall'] = time.monotonic() - start
  out['stdout'] = result.stdout.decode('latin-1')
  out['stderr'] = result.stderr.decode('latin-1')
  return out


if __name__ == '__main__':
  answer = main(json.loads(sys.argv[1]))
  warm_sandbox.close_all()  # before exiting: the test counts what is left
  print(json.dumps(answer))
