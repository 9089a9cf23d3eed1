"""The warm sandbox's own life cycle: one server per thread, replaced when it dies.

The attack vectors run through it in ``test_sandbox_vectors.py``; here: a killed
server costs one cold run and is then replaced, and a server that cannot start
leaves the process on the cold path.
"""

import os
import signal

import pytest

from restem_jax.verify import sandbox, warm_sandbox
from restem_jax.verify.sandbox_config import SandboxConfig

CONFIG = SandboxConfig(timeout_s=5.0)
_PROGRAM = {'m.py': 'import os\nprint(os.getcwd())'}


@pytest.fixture
def root_bwrap(bwrap_ok):
  if not bwrap_ok or os.geteuid() != 0:
    pytest.skip('the warm server runs as root, here inside bubblewrap')
  yield
  warm_sandbox.close_all()


def _server():
  return warm_sandbox._servers.get(warm_sandbox._key(CONFIG))


def test_a_dead_server_costs_one_cold_run_then_is_replaced(root_bwrap):
  first = warm_sandbox.run_python(_PROGRAM, 'm.py', CONFIG)
  assert first.returncode == 0 and first.stdout.startswith(b'/tmp/work/s')
  server = _server()
  os.killpg(server.proc.pid, signal.SIGKILL)
  server.proc.wait()
  cold = warm_sandbox.run_python(_PROGRAM, 'm.py', CONFIG)
  assert cold.returncode == 0 and cold.stdout == b'/tmp/work\n'  # the cold layout
  assert _server() is None and not os.path.exists(server.workdir)
  again = warm_sandbox.run_python(_PROGRAM, 'm.py', CONFIG)
  assert again.stdout.startswith(b'/tmp/work/s') and _server() is not server


def test_a_server_that_cannot_start_leaves_the_cold_path(root_bwrap, monkeypatch):
  config = SandboxConfig(timeout_s=5.0, tmpfs_mb=63)  # a key of its own
  monkeypatch.setattr(warm_sandbox, '_SERVER_FILES', ('no_such_file.py',))
  before = set(os.listdir('/tmp'))
  run = warm_sandbox.run_python(_PROGRAM, 'm.py', config)
  assert not {d for d in set(os.listdir('/tmp')) - before if d.startswith('restem_warm_')}
  assert run.returncode == 0 and run.stdout == b'/tmp/work\n'
  assert warm_sandbox._key(config) in warm_sandbox._failed_to_start
  assert sandbox.isolation_mode(config) == 'bubblewrap'
