"""The issue's isolation vectors, run through the real sandbox.

Each program is run with a 2 s budget; "fails" means the program's own
success marker never appears. Vectors needing bubblewrap skip without it.
"""

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from restem_jax.verify import code_runner
from restem_jax.verify.sandbox import run_python
from restem_jax.verify.sandbox_config import SandboxConfig

CONFIG = SandboxConfig(timeout_s=2.0)


def _run(code, **kw):
  start = time.monotonic()
  result = run_python({'main.py': code}, 'main.py', CONFIG, **kw)
  return result, time.monotonic() - start


@pytest.mark.parametrize('code', ['while True: pass', 'import time\ntime.sleep(100)',
                                  'x = 5**5**5**5'])
def test_hangs_time_out_within_deadline(code):
  result, wall = _run(code)
  assert result.timed_out and wall < CONFIG.timeout_s + 1.0


def test_huge_allocation_fails_and_host_is_fine():
  result, _ = _run('bytearray(10**11)\nprint("allocated")')
  assert result.returncode != 0 and b'allocated' not in result.stdout
  assert b'MemoryError' in result.stderr


def test_huge_print_is_capped_and_fails():
  result, _ = _run('print("x" * 10**9)\nprint("done")')
  assert result.returncode != 0 or result.output_limited
  assert len(result.stdout) <= CONFIG.max_output_bytes


def test_output_cap_kills_a_chatty_program():
  result, _ = _run('while True: print("y" * 1000)')
  assert result.output_limited and len(result.stdout) == CONFIG.max_output_bytes


def test_main_guard_runs():
  result, _ = _run('if __name__ == "__main__":\n  print("main ran")')
  assert result.returncode == 0 and result.stdout == b'main ran\n'


def test_input_without_stdin_errors_without_hanging():
  result, wall = _run('input()\nprint("read")')
  assert b'EOFError' in result.stderr and wall < 2.0


def test_stdin_is_delivered():
  result, _ = _run('print(int(input()) * 2)', stdin='21\n')
  assert result.stdout == b'42\n'


def test_environment_is_scrubbed(monkeypatch):
  monkeypatch.setenv('RESTEM_SECRET_TOKEN', 'hunter2')
  result, _ = _run('import os; print(sorted(os.environ))')
  assert b'RESTEM_SECRET_TOKEN' not in result.stdout


def _uid_processes(uid):
  pids = []
  for pid in os.listdir('/proc'):
    if pid.isdigit():
      try:
        if os.stat(f'/proc/{pid}').st_uid == uid:
          pids.append(pid)
      except OSError:
        pass
  return pids


def test_fork_bomb_is_contained_and_leaves_nothing(bwrap_ok):
  if not bwrap_ok:
    pytest.skip('fork bombs are only contained inside bubblewrap')
  code = ('import os\nwhile True:\n  try:\n    os.fork()\n  except OSError:\n    pass')
  result, wall = _run(code)
  assert result.timed_out and wall < CONFIG.timeout_s + 1.0
  time.sleep(0.3)
  if os.geteuid() == 0:
    assert _uid_processes(CONFIG.sandbox_uid) == []


def test_loopback_connection_fails(bwrap_ok):
  if not bwrap_ok:
    pytest.skip('network isolation needs bubblewrap')
  server = socket.socket()
  server.bind(('127.0.0.1', 0))
  server.listen(1)
  port = server.getsockname()[1]
  try:
    result, _ = _run(f'import socket\nsocket.create_connection(("127.0.0.1", {port}), '
                     'timeout=1)\nprint("connected")')
  finally:
    server.close()
  assert b'connected' not in result.stdout and result.returncode != 0


def test_daemon_in_new_session_does_not_survive(bwrap_ok):
  if not bwrap_ok:
    pytest.skip('daemons escape without a PID namespace')
  tag = uuid.uuid4().hex
  code = ('import subprocess, sys\n'
          f'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # {tag}"],'
          ' start_new_session=True)\nprint("started")')
  result, _ = _run(code)
  assert result.stdout == b'started\n'
  time.sleep(0.3)
  ps = subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True).stdout
  assert tag not in ps


def test_writes_outside_private_tmp_have_no_effect(bwrap_ok, tmp_path):
  if not bwrap_ok:
    pytest.skip('filesystem isolation needs bubblewrap')
  target = tmp_path / 'pwned.txt'
  host_tmp = f'/tmp/restem_pwned_{uuid.uuid4().hex}'
  code = ('import os\n'
          f'for p in [{str(target)!r}, {host_tmp!r}, os.path.expanduser("~/pwned")]:\n'
          '  try:\n    open(p, "w").write("x")\n  except OSError as e:\n    print("denied", p)\n'
          'open("inside.txt", "w").write("ok"); print("private ok")')
  result, _ = _run(code)
  assert b'private ok' in result.stdout
  assert not target.exists() and not os.path.exists(host_tmp)


def test_sample_killing_its_group_and_parent_is_just_a_failure():
  code = 'import os, signal\nos.killpg(0, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)'
  verdict = code_runner.check_asserts(code, ['assert True'], '', CONFIG)
  assert verdict.status == 'incorrect'
  assert os.getpid() > 0  # this process survived


def test_require_bubblewrap_raises_when_disabled(monkeypatch):
  from restem_jax.verify import bubblewrap, sandbox
  monkeypatch.setattr(bubblewrap, 'probe',
                      lambda uid=65534: bubblewrap.Probe(False, 'simulated: no userns'))
  with pytest.raises(sandbox.SandboxUnavailable, match='simulated'):
    run_python({'m.py': 'pass'}, 'm.py', SandboxConfig(require_bubblewrap=True))


def test_fallback_without_bubblewrap_still_limits(monkeypatch, caplog):
  from restem_jax.verify import bubblewrap, sandbox
  monkeypatch.setattr(bubblewrap, 'probe',
                      lambda uid=65534: bubblewrap.Probe(False, 'simulated'))
  monkeypatch.setattr(sandbox, '_warned_no_bwrap', False)
  config = SandboxConfig(timeout_s=1.0)
  with caplog.at_level('WARNING'):
    result = run_python({'m.py': 'while True: pass'}, 'm.py', config)
  assert result.timed_out and not result.sandboxed
  assert 'WITHOUT bubblewrap' in caplog.text
  mem = run_python({'m.py': 'bytearray(10**11)'}, 'm.py', config)
  assert b'MemoryError' in mem.stderr
