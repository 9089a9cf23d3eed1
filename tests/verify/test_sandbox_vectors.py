"""The issue's isolation vectors, run through the real sandbox in both modes.

Each vector runs through both runners, ``cold`` (``sandbox.run_python``: a
fresh sandbox per program) and ``warm`` (``warm_sandbox.run_python``: a child
forked from the process's sandboxed server), and in both modes: inside
bubblewrap (skipped when it does not work here), and in the fallback without it (``SandboxConfig(use_bubblewrap=False)``: as
root, private namespaces then an unprivileged uid, see ``uid_sandbox.py``). The
fallback runs in a child process inside its own pids cgroup (``pids_cgroup.py``),
a bound a sandbox bug cannot escape; afterwards the cgroup must be empty (the
sandbox itself killed everything) and no process of the test's sandbox uid may
be left on the host. Each program gets a 2 s budget; "fails" means the
program's own success marker never appears.
"""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import types
import uuid

import pytest

import pids_cgroup
from restem_jax.verify import code_runner, sandbox, uid_sandbox, warm_sandbox
from restem_jax.verify.sandbox_config import SandboxConfig

CONFIG = SandboxConfig(timeout_s=2.0)
TEST_UID = 64123  # a uid nothing else on the host uses, so leftovers are ours
_CHILD = os.path.join(os.path.dirname(__file__), 'fallback_child.py')
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _uid_processes(uid):
  pids = []
  for pid in os.listdir('/proc'):
    if pid.isdigit():
      try:
        if os.stat(f'/proc/{pid}').st_uid == uid and _alive(pid):
          pids.append(pid)
      except OSError:
        pass
  return pids


def _alive(pid):
  with open(f'/proc/{pid}/stat') as f:
    return f.read().rsplit(')', 1)[1].split()[0] != 'Z'


def _wait_no_processes(uid, seconds=3.0):
  deadline = time.monotonic() + seconds
  while (left := _uid_processes(uid)) and time.monotonic() < deadline:
    time.sleep(0.05)
  return left


def _bounded(call, code, runner, kwargs=None):
  """One sandbox call in the fallback, in a child inside a fresh pids cgroup.

  ``code``: a program, or a list of programs run one after the other (the
  result is the last one's).
  """
  request = {'call': call, 'code': code, 'kwargs': kwargs or {},
             'config': {'timeout_s': CONFIG.timeout_s, 'use_bubblewrap': False,
                        'sandbox_uid': TEST_UID, 'warm_server': runner == 'warm'}}
  env = {**os.environ, 'PYTHONPATH': _REPO}
  with pids_cgroup.PidsCgroup(max_pids=256) as cgroup:
    child = subprocess.run([sys.executable, _CHILD, json.dumps(request)],
                           capture_output=True, text=True, env=env, timeout=120,
                           preexec_fn=cgroup.enter)
    left_in_cgroup = cgroup.kill_all()
  assert child.returncode == 0, child.stderr[-2000:]
  assert left_in_cgroup == 0, f'{left_in_cgroup} processes outlived the sandbox'
  assert _wait_no_processes(TEST_UID) == [], 'sandbox-uid processes left on the host'
  return json.loads(child.stdout.strip().split('\n')[-1])


def _run_fallback(runner, code, **kw):
  out = _bounded('run_python', code, runner, kw)
  assert out['isolation'] == 'uid_drop'
  out['stdout'] = out['stdout'].encode('latin-1')
  out['stderr'] = out['stderr'].encode('latin-1')
  return types.SimpleNamespace(**out), out['wall']


def _run_bubblewrap(runner, code, **kw):
  run_python = warm_sandbox.run_python if runner == 'warm' else sandbox.run_python
  codes = code if isinstance(code, list) else [code]
  run_python({'main.py': 'pass'}, 'main.py', CONFIG)  # a warm server starts once
  for code in codes:
    start = time.monotonic()
    result = run_python({'main.py': code}, 'main.py', CONFIG, **kw)
  assert result.sandboxed
  return result, time.monotonic() - start


@pytest.fixture(params=['cold', 'warm'])
def runner(request):
  return request.param


@pytest.fixture(params=['bubblewrap', 'fallback'])
def mode(request, bwrap_ok, runner):
  if request.param == 'bubblewrap' and not bwrap_ok:
    pytest.skip('bubblewrap does not work here')
  if request.param == 'fallback' and not pids_cgroup.available():
    pytest.skip('the fallback vectors need root and a pids cgroup to bound them')
  if runner == 'warm' and os.geteuid() != 0:
    pytest.skip('the warm server runs only as root (else it is the cold runner)')
  return request.param, runner


@pytest.fixture
def isolated(mode):
  """Like ``mode``, but skips the fallback where the kernel refuses namespaces."""
  if mode[0] == 'fallback' and not uid_sandbox.namespaces_available():
    pytest.skip('without namespaces the fallback shares the network and /tmp')
  return mode


def _run(mode, code, **kw):
  where, runner = mode
  return (_run_bubblewrap if where == 'bubblewrap' else _run_fallback)(runner, code, **kw)


@pytest.mark.parametrize('code', ['while True: pass', 'import time\ntime.sleep(100)',
                                  'x = 5**5**5**5'])
def test_hangs_time_out_within_deadline(mode, code):
  result, wall = _run(mode, code)
  assert result.timed_out and wall < CONFIG.timeout_s + 1.0


def test_huge_allocation_fails_and_host_is_fine(mode):
  result, _ = _run(mode, 'bytearray(10**11)\nprint("allocated")')
  assert result.returncode != 0 and b'allocated' not in result.stdout
  assert b'MemoryError' in result.stderr


def test_huge_print_is_capped_and_fails(mode):
  result, _ = _run(mode, 'print("x" * 10**9)\nprint("done")')
  assert result.returncode != 0 or result.output_limited
  assert len(result.stdout) <= CONFIG.max_output_bytes


def test_output_cap_kills_a_chatty_program(mode):
  result, _ = _run(mode, 'while True: print("y" * 1000)')
  assert result.output_limited and len(result.stdout) == CONFIG.max_output_bytes


def test_main_guard_runs(mode):
  result, _ = _run(mode, 'if __name__ == "__main__":\n  print("main ran")')
  assert result.returncode == 0 and result.stdout == b'main ran\n'


def test_input_without_stdin_errors_without_hanging(mode):
  result, wall = _run(mode, 'input()\nprint("read")')
  assert b'EOFError' in result.stderr and wall < 2.0


def test_stdin_is_delivered(mode):
  result, _ = _run(mode, 'print(int(input()) * 2)', stdin='21\n')
  assert result.stdout == b'42\n'


def test_environment_is_scrubbed(mode, monkeypatch):
  monkeypatch.setenv('RESTEM_SECRET_TOKEN', 'hunter2')
  result, _ = _run(mode, 'import os; print(sorted(os.environ))')
  assert b'RESTEM_SECRET_TOKEN' not in result.stdout


def test_runs_unprivileged_without_groups_or_inherited_fds(mode):
  code = ('import os\nprint(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())\n'
          'print(sorted(int(f) for f in os.listdir("/proc/self/fd")))')
  result, _ = _run(mode, code)
  ids, fds = result.stdout.decode().strip().split('\n')
  if os.geteuid() == 0:
    uid = CONFIG.sandbox_uid if mode[0] == 'bubblewrap' else TEST_UID
    assert ids == f'{uid} {uid} {uid} []'
  assert set(json.loads(fds)) <= {0, 1, 2, 3}  # 3: listdir's own descriptor


def test_fork_bomb_is_contained_and_leaves_nothing(mode):
  code = ('import os\nwhile True:\n  try:\n    os.fork()\n  except OSError:\n    pass')
  result, wall = _run(mode, code)
  assert result.timed_out and wall < CONFIG.timeout_s + 1.0
  if os.geteuid() == 0 and mode[0] == 'bubblewrap':
    assert _wait_no_processes(CONFIG.sandbox_uid) == []


def test_setsid_fork_bomb_leaves_nothing(mode):
  code = ('import os\nwhile True:\n  try:\n    if os.fork() == 0:\n      os.setsid()\n'
          '  except OSError:\n    pass')
  result, _ = _run(mode, code)
  assert result.timed_out
  if os.geteuid() == 0 and mode[0] == 'bubblewrap':
    assert _wait_no_processes(CONFIG.sandbox_uid) == []


def test_loopback_connection_fails(isolated):
  server = socket.socket()
  server.bind(('127.0.0.1', 0))
  server.listen(1)
  port = server.getsockname()[1]
  try:
    result, _ = _run(isolated, f'import socket\nsocket.create_connection(("127.0.0.1", '
                     f'{port}), timeout=1)\nprint("connected")')
  finally:
    server.close()
  assert b'connected' not in result.stdout and result.returncode != 0


def test_daemon_in_new_session_does_not_survive(isolated):
  tag = uuid.uuid4().hex
  code = ('import subprocess, sys\n'
          f'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # {tag}"],'
          ' start_new_session=True)\nprint("started")')
  result, _ = _run(isolated, code)
  assert result.stdout == b'started\n'
  time.sleep(0.3)
  ps = subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True).stdout
  assert tag not in ps


def test_writes_outside_private_tmp_have_no_effect(isolated, tmp_path):
  os.chmod(tmp_path, 0o777)  # even a world-writable dir of the host stays untouched
  target = tmp_path / 'pwned.txt'
  host_tmp = f'/tmp/restem_pwned_{uuid.uuid4().hex}'
  shm = f'/dev/shm/restem_pwned_{uuid.uuid4().hex}'
  code = ('import os\n'
          f'for p in [{str(target)!r}, {host_tmp!r}, {shm!r}, "/root/pwned", '
          '"/etc/pwned", os.path.expanduser("~/../pwned")]:\n'
          '  try:\n    open(p, "w").write("x")\n  except OSError as e:\n    print("denied", p)\n'
          'open("inside.txt", "w").write("ok"); print("private ok")')
  before = set(os.listdir('/etc')) | set(os.listdir('/root'))
  result, _ = _run(isolated, code)
  assert b'private ok' in result.stdout
  assert not target.exists() and not os.path.exists(host_tmp)
  assert not os.path.exists(shm)
  assert set(os.listdir('/etc')) | set(os.listdir('/root')) <= before


def test_sample_killing_its_group_and_parent_is_just_a_failure(mode):
  code = 'import os, signal\nos.killpg(0, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)'
  where, runner = mode
  if where == 'bubblewrap':
    config = dataclasses.replace(CONFIG, warm_server=runner == 'warm')
    verdict = code_runner.check_asserts(code, ['assert True'], '', config).status
  else:
    verdict = _bounded('check_asserts', code, runner)['status']
  assert verdict == 'incorrect'
  assert os.getpid() > 0  # this process survived


def test_a_sample_sees_nothing_of_the_sample_before(isolated):
  """Files, interpreter state, IPC and processes of one run are gone in the next."""
  leave = ('import os, sys, json, subprocess\n'
           'for p in ["left.txt", "../left.txt", "/tmp/left.txt", "/dev/shm/left.txt",\n'
           '          os.path.expanduser("~/left2.txt"), "/var/tmp/left.txt"]:\n'
           '  try:\n    open(p, "w").write("x")\n  except OSError:\n    pass\n'
           'json.LEFT = 1; sys.modules["left_mod"] = json\n'
           'subprocess.Popen(["sleep", "30"], start_new_session=True)\n'
           'print("left")')
  look = ('import os, sys, json, glob\n'
          'found = [p for p in ["left.txt", "../left.txt", "/tmp/left.txt",\n'
          '         "/dev/shm/left.txt", "/var/tmp/left.txt"] if os.path.exists(p)]\n'
          'found += glob.glob("../*/left*.txt") + glob.glob(os.path.expanduser("~/left*"))\n'
          'found += ["json.LEFT"] if hasattr(json, "LEFT") else []\n'
          'found += ["left_mod"] if "left_mod" in sys.modules else []\n'
          'def cmdline(p):\n'
          '  try:\n'
          '    if os.stat("/proc/" + p).st_uid == os.getuid():\n'
          '      return open(f"/proc/{p}/cmdline", "rb").read()\n'
          '  except OSError:\n    pass\n'
          '  return b""\n'
          'found += ["sleep"] if any(b"sleep" in cmdline(p) for p in os.listdir("/proc")\n'
          '                          if p.isdigit()) else []\n'
          'print("found", sorted(found))')
  result, _ = _run(isolated, [leave, look])
  assert result.stdout == b'found []\n', result.stdout + result.stderr


def test_warm_runs_give_the_cold_verdicts(bwrap_ok):
  if not bwrap_ok or os.geteuid() != 0:
    pytest.skip('needs bubblewrap and root')
  cases = {'assert True': 'correct', 'assert False': 'incorrect',
           'import os\nos._exit(0)': 'incorrect', 'while True: pass': 'timeout',
           'def f(:': 'incorrect', 'import sys\nsys.exit(0)': 'incorrect'}
  for code, want in cases.items():
    program = code if 'assert' not in code else 'x = 1'
    tests = [code] if 'assert' in code else ['assert True']
    got = [code_runner.check_asserts(program, tests, '', dataclasses.replace(
        CONFIG, warm_server=warm, cpu_time_s=0.5)) for warm in (False, True)]
    assert got[0] == got[1] and got[0].status == want, (code, got)
