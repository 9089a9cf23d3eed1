"""The warm sandbox's server: runs INSIDE the sandbox, forks one child per program.

Started once per verifier worker by ``warm_sandbox.py`` as root inside
bubblewrap (or inside the no-bubblewrap fallback's namespaces), with
``python -I warm_server.py UID`` in a dir that also holds a copy of
``uid_sandbox.py``; standard library only (it never imports restem_jax).
Requests and answers are length-prefixed JSON on its stdin/stdout.

A request names a sample dir the worker has filled (program, ``.stdin``) and
chowned to the sandbox uid, plus the run's limits. The server forks a child
that, before running anything of the sample: starts its own session, sets
RLIMIT_AS/NPROC/FSIZE/NOFILE/CORE/CPU, takes the sample dir as cwd, ``.stdin``
or ``/dev/null`` as stdin and fresh pipes as stdout/stderr, closes every other
descriptor, enters a new IPC namespace, clears its groups, sets gid then uid
to the sandbox uid, sets no_new_privs and PDEATHSIG, and scrubs its
environment; then it runs the program like ``python -I entry`` (``runpy``, as
``__main__``). The server reads stdout with a byte cap and stderr's tail,
SIGKILLs the child's process group at the wall cap, reaps it with its CPU
usage, and kills every process of the sandbox uid left in its namespace
(daemons that left the group). The sample's interpreter state dies with the
child; the only dir the sandbox uid may write is its own sample dir (the
worker deletes it after the run).
"""

import atexit
import base64
import ctypes
import json
import os
import resource
import runpy
import selectors
import signal
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I omits it
import uid_sandbox  # pylint: disable=g-import-not-at-top
del sys.path[0]  # programs get the sys.path of ``python -I`` (no script dir)

_CLONE_NEWIPC = 0x08000000
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_STDERR_TAIL = 8192
_SETUP_FAILED = 125


def _recv(fd):
  head = _read_exact(fd, 4)
  if head is None:
    return None
  body = _read_exact(fd, struct.unpack('>I', head)[0])
  return None if body is None else json.loads(body)


def _read_exact(fd, n):
  data = bytearray()
  while len(data) < n:
    chunk = os.read(fd, n - len(data))
    if not chunk:
      return None
    data.extend(chunk)
  return bytes(data)


def _send(fd, message):
  body = json.dumps(message).encode()
  os.write(fd, struct.pack('>I', len(body)))
  view = memoryview(body)
  while view:
    view = view[os.write(fd, view):]


def _drop_into_sandbox(req, uid, out_w, err_w):
  """Child side, as root: session, limits, descriptors, namespace, uid."""
  libc = ctypes.CDLL(None, use_errno=True)
  server = os.getppid()
  os.setsid()
  os.chdir(req['dir'])
  stdin = os.open('.stdin' if req['has_stdin'] else '/dev/null', os.O_RDONLY)
  for fd, target in ((stdin, 0), (out_w, 1), (err_w, 2)):
    os.dup2(fd, target)
  os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
  if libc.unshare(_CLONE_NEWIPC) != 0:
    raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWIPC)')
  cpu, mem = req['cpu_s'], req['memory_bytes']
  for which, soft, hard in (
      (resource.RLIMIT_AS, mem, mem),
      (resource.RLIMIT_NPROC, req['nproc'], req['nproc']),
      (resource.RLIMIT_FSIZE, req['max_file_bytes'], req['max_file_bytes']),
      (resource.RLIMIT_NOFILE, req['max_open_files'], req['max_open_files']),
      (resource.RLIMIT_CORE, 0, 0),
      (resource.RLIMIT_CPU, cpu, cpu + 1)):
    resource.setrlimit(which, (soft, hard))
  os.setgroups([])
  os.setgid(uid)
  os.setuid(uid)
  if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
    raise OSError('could not drop privileges')
  libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
  libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
  if os.getppid() != server:  # the server died before PDEATHSIG was set
    os._exit(_SETUP_FAILED)
  os.environ.clear()
  os.environ.update({'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8',
                     'HOME': req['dir'], 'TMPDIR': req['dir'],
                     'PYTHONIOENCODING': 'utf-8'})


def _exit_status(code):
  """What ``python`` exits with for ``SystemExit(code)``."""
  if code is None:
    return 0
  if isinstance(code, int):
    return code & 0xFF
  try:
    print(code, file=sys.stderr)
  except BaseException:
    pass
  return 1


def _run_program(entry, argv):
  """Run ``entry`` as ``__main__`` in this (forked) interpreter; never returns."""
  path = os.path.abspath(entry)
  sys.argv = [entry, *argv]
  status = 0
  try:
    runpy.run_path(path, run_name='__main__')
  except SystemExit as e:
    status = _exit_status(e.code)
  except BaseException as e:  # the traceback from the program's frames on
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
      tb = tb.tb_next
    traceback.print_exception(type(e), e, tb or e.__traceback__)
    status = 1
  try:
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
  except BaseException:
    status = status or 120
  os._exit(status)


def _child(req, uid, out_w, err_w):
  try:
    _drop_into_sandbox(req, uid, out_w, err_w)
  except BaseException as e:
    os.write(2, f'warm sandbox setup failed: {e!r}\n'.encode())
    os._exit(_SETUP_FAILED)
  _run_program(req['entry'], req['argv'])


def _read_capped(pid, out_r, err_r, deadline, cap, sweep):
  """(stdout, stderr tail, timed_out, output_limited), like ``sandbox.py``."""
  out, err = bytearray(), bytearray()
  sel = selectors.DefaultSelector()
  sel.register(out_r, selectors.EVENT_READ, out)
  sel.register(err_r, selectors.EVENT_READ, err)
  timed_out = limited = False
  while sel.get_map():
    remaining = deadline - time.monotonic()
    if remaining <= 0:
      timed_out = True
      break
    events = sel.select(timeout=min(remaining, 0.5))
    if not events and sweep is not None and _exited(pid):
      sweep()  # a daemon holds the pipes open after the program exited
      sweep = None
    for key, _ in events:
      chunk = os.read(key.fd, 65536)
      if not chunk:
        sel.unregister(key.fileobj)
        continue
      key.data.extend(chunk)
      if key.data is err and len(err) > 4 * _STDERR_TAIL:
        del err[:-_STDERR_TAIL]
    if len(out) > cap:
      limited = True
      break
  sel.close()
  return bytes(out[:cap]), bytes(err[-_STDERR_TAIL:]), timed_out, limited


def _exited(pid):
  try:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
  except ChildProcessError:
    return True


def _wait_cpu(pid, deadline):
  while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
      return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
    if time.monotonic() > deadline:
      return None
    time.sleep(0.002)


def _kill_group(pid):
  try:
    os.killpg(pid, signal.SIGKILL)
  except ProcessLookupError:
    pass


def _run(req, uid, mount_ns):
  """Fork, run one program, and answer what it did."""
  out_r, out_w = os.pipe()
  err_r, err_w = os.pipe()
  deadline = time.monotonic() + req['timeout_s']
  sys.stdout.flush()  # nothing of the server's may reach the program's pipes
  sys.stderr.flush()
  pid = os.fork()
  if pid == 0:
    os.close(out_r)
    os.close(err_r)
    _child(req, uid, out_w, err_w)
  os.close(out_w)
  os.close(err_w)
  sweep = lambda: uid_sandbox.kill_leftovers(uid, mount_ns)
  try:
    out, err, timed_out, limited = _read_capped(
        pid, out_r, err_r, deadline, req['max_output_bytes'], sweep)
    waited = None
    if not (timed_out or limited):
      waited = _wait_cpu(pid, max(deadline, time.monotonic() + 0.1))
      timed_out = waited is None
    _kill_group(pid)
    if waited is None:
      os.waitpid(pid, 0)
  finally:
    os.close(out_r)
    os.close(err_r)
    sweep()
  return {'returncode': None if waited is None else waited[0],
          'cpu_used': 0.0 if waited is None else waited[1],
          'stdout': base64.b64encode(out).decode(),
          'stderr': base64.b64encode(err).decode(),
          'timed_out': timed_out, 'output_limited': limited}


def main(uid):
  requests, answers = os.dup(0), os.dup(1)
  null = os.open('/dev/null', os.O_RDWR)
  os.dup2(null, 0)
  os.dup2(null, 1)
  os.close(null)
  mount_ns = os.stat('/proc/self/ns/mnt').st_ino
  _send(answers, {'ready': os.getpid()})
  while (req := _recv(requests)) is not None:
    _send(answers, _run(req, uid, mount_ns))


if __name__ == '__main__':
  main(int(sys.argv[1]))
