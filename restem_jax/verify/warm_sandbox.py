"""The warm sandbox: one long-lived sandboxed server per process, a fork per program.

``run_python`` here has the signature and the ``RunResult`` of
``sandbox.run_python`` and is what ``code_runner`` calls when
``SandboxConfig.warm_server`` is set (the default). Instead of a fresh
``bwrap`` + ``setpriv`` + ``python -I`` per program, each process (each
verifier worker) starts one ``warm_server.py`` once:

- ``bubblewrap`` mode: inside bubblewrap with the same namespaces, mounts and
  cleared environment as a cold run, but as root inside it (no ``setpriv``):
  the server is our code, and it drops every child to ``sandbox_uid``;
- ``uid_drop`` mode (root, no bubblewrap): inside the fallback's private
  mount/net/IPC/UTS namespaces (``uid_sandbox.namespace_setup``), as root
  there, with ``/tmp``, ``/var/tmp``, ``/dev/shm`` not writable by the uid.

Each program runs in a child forked from the server (see ``warm_server.py``
for what the child does before running it). The worker writes the program's
files into a fresh sample dir under the server's work dir (owned by the
sandbox uid, 0700, the only place that uid may write), and deletes it after
the run; the work dir itself is root's. So a sample sees neither the files
nor the interpreter state nor the processes of the sample before it.

Where the warm path does not apply (not root: the server could not run as
another uid than the code; ``uid_drop`` without namespaces; ``unsandboxed``)
and when the server dies or does not answer, the run goes through the cold
``sandbox.run_python``; a dead server is replaced at the next call.
"""

import atexit
import base64
import ctypes
import json
import logging
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time

from restem_jax.verify import bubblewrap
from restem_jax.verify import sandbox
from restem_jax.verify import uid_sandbox
from restem_jax.verify.sandbox_config import SandboxConfig

_HERE = os.path.dirname(os.path.abspath(__file__))
_SERVER_FILES = ('warm_server.py', 'uid_sandbox.py')
_START_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1
_ANSWER_SLACK_S = 10.0  # the server's own wall cap, then its sweep
_servers: dict = {}  # (pid, thread, config) -> WarmServer of this process
_failed_to_start: set = set()  # keys whose server would not start


class ServerDied(RuntimeError):
  """The warm server exited or stopped answering."""


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
  data = bytearray()
  while len(data) < n:
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
      raise ServerDied('the warm server did not answer in time')
    chunk = os.read(fd, n - len(data))
    if not chunk:
      raise ServerDied('the warm server exited')
    data.extend(chunk)
  return bytes(data)


def _in_namespaces(enter):
  """preexec_fn of the ``uid_drop`` server: namespaces, then die with us."""
  def setup():
    enter()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL,
                                            0, 0, 0)
  return setup


class WarmServer:
  """One ``warm_server.py`` process and the host side of its work dir."""

  def __init__(self, config: SandboxConfig, mode: str):
    self.config, self.mode, self._count = config, mode, 0
    self.workdir = tempfile.mkdtemp(prefix='restem_warm_')
    self._mount_ns = None
    try:
      self.proc = self._start()
    except OSError:
      shutil.rmtree(self.workdir, ignore_errors=True)
      raise
    try:
      ready = self._answer(time.monotonic() + _START_TIMEOUT_S)
      if mode == sandbox.UID_DROP:
        self._mount_ns = os.stat(f'/proc/{ready["ready"]}/ns/mnt').st_ino
    except (ServerDied, OSError, KeyError):
      self.close()
      raise

  def _start(self) -> subprocess.Popen:
    config = self.config
    os.chmod(self.workdir, 0o755)  # root's: the uid writes only its sample dir
    for name in _SERVER_FILES:
      shutil.copy(os.path.join(_HERE, name), os.path.join(self.workdir, name))
    python, prefix = bubblewrap.interpreter()
    argv = [python, '-I', 'warm_server.py', str(config.sandbox_uid)]
    preexec, self.inside = None, self.workdir
    if self.mode == sandbox.BUBBLEWRAP:
      argv = bubblewrap.bwrap_argv(self.workdir, argv, tmpfs_mb=config.tmpfs_mb,
                                   sandbox_uid=config.sandbox_uid, keep_root=True)
      self.inside = bubblewrap.WORKDIR_INSIDE
    else:
      preexec = _in_namespaces(uid_sandbox.namespace_setup(
          self.workdir, prefix, config.tmpfs_mb, -1, shared_tmp=False))
    env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8',
           'PYTHONIOENCODING': 'utf-8'}
    return subprocess.Popen(
        argv, cwd=self.workdir, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=preexec, close_fds=True)

  def _answer(self, deadline: float) -> dict:
    fd = self.proc.stdout.fileno()
    size = struct.unpack('>I', _read_exact(fd, 4, deadline))[0]
    return json.loads(_read_exact(fd, size, deadline))

  def _fill_sample_dir(self, files: dict, stdin) -> str:
    self._count += 1
    name = f's{self._count}'
    host_dir = os.path.join(self.workdir, name)
    os.mkdir(host_dir, 0o700)
    if stdin is not None:
      files = {**files, '.stdin': stdin}
    for file_name, text in files.items():
      path = os.path.join(host_dir, file_name)
      with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
      os.chown(path, self.config.sandbox_uid, self.config.sandbox_uid)
    os.chown(host_dir, self.config.sandbox_uid, self.config.sandbox_uid)
    return name

  def run(self, files, entry, stdin, timeout_s, cpu_time_s, extra_args):
    """One program through the server; ``RunResult`` or ``ServerDied``."""
    config = self.config
    name = self._fill_sample_dir(files, stdin)
    cpu_s = sandbox.cpu_limit_seconds(cpu_time_s)
    request = {
        'dir': os.path.join(self.inside, name), 'entry': entry,
        'argv': list(extra_args), 'has_stdin': stdin is not None,
        'timeout_s': timeout_s, 'cpu_s': cpu_s,
        'nproc': config.max_processes + sandbox.processes_of(config.sandbox_uid),
        'memory_bytes': config.memory_mb << 20,
        'max_file_bytes': config.max_file_bytes,
        'max_open_files': config.max_open_files,
        'max_output_bytes': config.max_output_bytes}
    body = json.dumps(request).encode()
    try:
      self.proc.stdin.write(struct.pack('>I', len(body)) + body)
      self.proc.stdin.flush()
      got = self._answer(time.monotonic() + timeout_s + _ANSWER_SLACK_S)
    except (BrokenPipeError, OSError) as e:
      raise ServerDied(f'the warm server is gone: {e}') from e
    finally:
      shutil.rmtree(os.path.join(self.workdir, name), ignore_errors=True)
    returncode = got['returncode']
    return sandbox.RunResult(
        returncode, base64.b64decode(got['stdout']), base64.b64decode(got['stderr']),
        got['timed_out'], got['output_limited'], self.mode == sandbox.BUBBLEWRAP,
        returncode is not None and sandbox.cpu_exceeded(
            returncode, got['cpu_used'], cpu_s),
        isolation=self.mode)

  def close(self) -> None:
    """Kill the server (bubblewrap takes its whole PID namespace with it)."""
    try:
      os.killpg(self.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
      pass
    self.proc.wait()
    for pipe in (self.proc.stdin, self.proc.stdout):
      try:
        pipe.close()
      except OSError:
        pass
    if self._mount_ns is not None:  # samples' leftovers outside the group
      uid_sandbox.kill_leftovers(self.config.sandbox_uid, self._mount_ns)
    shutil.rmtree(self.workdir, ignore_errors=True)


def _warm_applies(mode: str) -> bool:
  if os.geteuid() != 0:
    return False
  return mode == sandbox.BUBBLEWRAP or (
      mode == sandbox.UID_DROP and uid_sandbox.namespaces_available())


def _key(config: SandboxConfig) -> tuple:
  """One server per thread: requests on one server are serial, and a bwrap
  server dies with the thread that started it (``--die-with-parent``)."""
  return os.getpid(), threading.get_ident(), config


def _server(config: SandboxConfig, mode: str) -> WarmServer | None:
  key = _key(config)
  if key in _failed_to_start:
    return None
  if key not in _servers:
    try:
      _servers[key] = WarmServer(config, mode)
    except (ServerDied, OSError) as e:
      logging.warning('warm sandbox server did not start (%s); cold runs '
                      'from now on in this process', e)
      _failed_to_start.add(key)
      return None
  return _servers[key]


def run_python(files: dict[str, str], entry: str, config: SandboxConfig, *,
               stdin: str | None = None, timeout_s: float | None = None,
               cpu_time_s: float | None = None,
               extra_args: tuple[str, ...] = ()) -> sandbox.RunResult:
  """``sandbox.run_python`` through this process's warm server (see module doc)."""
  if entry not in files:
    raise ValueError(f'entry {entry!r} is not one of the files {sorted(files)}')
  mode = sandbox.isolation_mode(config)
  cold = lambda: sandbox.run_python(files, entry, config, stdin=stdin,
                                    timeout_s=timeout_s, cpu_time_s=cpu_time_s,
                                    extra_args=extra_args)
  server = _server(config, mode) if _warm_applies(mode) else None
  if server is None:
    return cold()
  try:
    return server.run(files, entry, stdin,
                      config.timeout_s if timeout_s is None else timeout_s,
                      config.cpu_time_s if cpu_time_s is None else cpu_time_s,
                      extra_args)
  except ServerDied as e:
    logging.warning('warm sandbox server died (%s); this run is cold, the next '
                    'starts a new server', e)
    _servers.pop(_key(config)).close()
    return cold()


def close_all() -> None:
  """Stop this process's warm servers (also run at exit)."""
  for key in [k for k in _servers if k[0] == os.getpid()]:
    _servers.pop(key).close()


atexit.register(close_all)
