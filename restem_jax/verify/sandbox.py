"""Running one untrusted Python program: bubblewrap + rlimits + CPU limit + wall cap.

``run_python`` starts a fresh ``python -I`` in a new session, inside bubblewrap
when it works (see ``bubblewrap.py``), always under rlimits (CPU seconds,
address space, processes, file size, open files, no core dumps), with a
scrubbed environment, stdin from a file or ``/dev/null``, stdout read with a
byte cap and a wall cap after which the whole process group is SIGKILLed.
RLIMIT_CPU (SIGXCPU, then SIGKILL one second later) is what normally ends a
slow program: CPU time does not grow when the machine is busy, wall time does.

``run_python`` is the entry point for running untrusted code in a fresh
sandbox; its signature is stable (``warm_sandbox.run_python`` takes the same
arguments and runs the program through a long-lived sandboxed server, with
this as its fallback). ``isolation_mode`` picks how, once per call:

- ``bubblewrap`` when it works here (see ``bubblewrap.py``);
- without it, as root: ``uid_drop`` (see ``uid_sandbox.py``: private
  namespaces when the kernel allows them, then ``sandbox_uid``); model-written
  code never runs as root;
- without it, not root: refused (``SandboxUnavailable``, naming the fix)
  unless ``SandboxConfig.allow_unsandboxed``: then ``unsandboxed``, rlimits
  only, as this process's own uid.

``SandboxConfig.require_bubblewrap`` refuses anything but bubblewrap.
"""

import ctypes
import dataclasses
import functools
import logging
import math
import os
import resource
import selectors
import shutil
import signal
import subprocess
import tempfile
import time

from restem_jax.verify import bubblewrap
from restem_jax.verify import uid_sandbox
from restem_jax.verify.sandbox_config import SandboxConfig

_STDERR_TAIL = 8192
_PR_SET_PDEATHSIG = 1
_XCPU_STATUSES = (-signal.SIGXCPU, 128 + signal.SIGXCPU)
_KILL_STATUSES = (-signal.SIGKILL, 128 + signal.SIGKILL)
_warned_no_bwrap = False
BUBBLEWRAP, UID_DROP, UNSANDBOXED = 'bubblewrap', 'uid_drop', 'unsandboxed'


class SandboxUnavailable(RuntimeError):
  """bubblewrap is required by the config but does not work on this host."""


@dataclasses.dataclass(frozen=True)
class RunResult:
  """What one sandboxed run did.

  Attributes:
    returncode: exit status (negative: killed by that signal); None if the
      run was killed by us for a timeout or the output cap.
    stdout: captured stdout, at most ``max_output_bytes``.
    stderr: the last few KiB of stderr.
    timed_out: the wall cap was hit.
    output_limited: stdout exceeded ``max_output_bytes``.
    sandboxed: ran inside bubblewrap.
    cpu_exceeded: the program was killed by its CPU-time limit (RLIMIT_CPU).
    isolation: the ``isolation_mode`` it ran under.
  """
  returncode: int | None
  stdout: bytes
  stderr: bytes
  timed_out: bool
  output_limited: bool
  sandboxed: bool
  cpu_exceeded: bool = False
  isolation: str = BUBBLEWRAP


def _warn_once(message: str, *args) -> None:
  global _warned_no_bwrap
  if not _warned_no_bwrap:
    logging.warning(message, *args)
    _warned_no_bwrap = True


def isolation_mode(config: SandboxConfig) -> str:
  """How untrusted code runs here under ``config``; raises ``SandboxUnavailable``."""
  if config.use_bubblewrap:
    probe = bubblewrap.probe(config.sandbox_uid)
    if probe.ok:
      return BUBBLEWRAP
    if config.require_bubblewrap:
      raise SandboxUnavailable(
          f'SandboxConfig.require_bubblewrap is set but {probe.reason}')
    why = probe.reason
  else:
    why = 'SandboxConfig.use_bubblewrap=False'
  if os.geteuid() == 0:
    fallback = uid_sandbox_probe(config.sandbox_uid, config.tmpfs_mb)
    if not fallback.ok:  # never run model-written code as root
      raise SandboxUnavailable(
          f'no bubblewrap ({why}) and the uid-drop fallback does not work here '
          f'({fallback.reason}): install bubblewrap (apt-get install -y bubblewrap)')
    _warn_once('Running untrusted code WITHOUT bubblewrap (%s): as uid %d, %s',
               why, config.sandbox_uid, 'in private namespaces'
               if uid_sandbox.namespaces_available() else
               'WITHOUT namespaces (network reachable, /tmp shared)')
    return UID_DROP
  if not config.allow_unsandboxed:
    raise SandboxUnavailable(
        f'refusing to run model-written code: no bubblewrap ({why}) and this '
        f'process (uid {os.geteuid()}) is not root, so it cannot run the code as '
        'another user. Install bubblewrap (apt-get install -y bubblewrap), or opt '
        'in to rlimits only as your own uid with verifier.allow_unsandboxed=True '
        '(CLI: --allow-unsandboxed; SandboxConfig(allow_unsandboxed=True))')
  _warn_once('Running untrusted code WITHOUT any sandbox (rlimits only, as '
             'uid %d; allow_unsandboxed=True): %s', os.geteuid(), why)
  return UNSANDBOXED


@functools.lru_cache(maxsize=None)
def uid_sandbox_probe(sandbox_uid: int, tmpfs_mb: int) -> bubblewrap.Probe:
  """Run a trivial program through the uid-drop fallback once; cache the answer."""
  code = 'import os; open("ok", "w").write("1"); print(os.getuid())'
  try:
    run = _run_in_workdir({'probe.py': code}, 'probe.py', SandboxConfig(
        timeout_s=30.0, sandbox_uid=sandbox_uid, tmpfs_mb=tmpfs_mb),
        None, 30.0, 30.0, (), UID_DROP)
  except (OSError, subprocess.SubprocessError) as e:
    return bubblewrap.Probe(False, f'uid-drop probe failed: {e}')
  if run.returncode != 0 or run.stdout.strip() != str(sandbox_uid).encode():
    return bubblewrap.Probe(False, f'uid-drop probe exited with {run.returncode}: '
                            f'{(run.stdout + run.stderr)[-300:]!r}')
  return bubblewrap.Probe(True, 'ok')


def processes_of(uid: int) -> int:
  """How many processes of ``uid`` exist on this host (for RLIMIT_NPROC)."""
  count = 0
  for pid in os.listdir('/proc'):
    if pid.isdigit():
      try:
        count += os.stat(f'/proc/{pid}').st_uid == uid
      except OSError:
        pass
  return count


def cpu_limit_seconds(cpu_time_s: float) -> int:
  """RLIMIT_CPU soft limit for a run allowed ``cpu_time_s`` of test CPU time."""
  return math.ceil(cpu_time_s) + 1  # + 1 s for interpreter start-up


def cpu_exceeded(returncode: int, cpu_used: float, cpu_s: int) -> bool:
  """Whether a run that exited with ``returncode`` hit its RLIMIT_CPU ``cpu_s``.

  SIGXCPU (bwrap reports 128 + signal), or SIGKILL at the hard limit when
  SIGXCPU was caught (rusage, which rounds to scheduler ticks, then says the
  limit was reached; it only sees the tree outside bubblewrap). A program
  faking the status only gets itself a ``timeout`` (reward 0).
  """
  return returncode in _XCPU_STATUSES or (
      returncode in _KILL_STATUSES and cpu_used >= 0.9 * cpu_s)


def _preexec(config: SandboxConfig, cpu_s: int, nproc: int, drop):
  """Child-side setup between fork and exec (the child is single-threaded).

  ``drop``: ``uid_sandbox.child_setup(...)`` (namespaces, then the uid change
  and PR_SET_PDEATHSIG) in the ``uid_drop`` mode, else None.
  """
  mem = config.memory_mb << 20
  limits = ((resource.RLIMIT_AS, mem, mem),
            (resource.RLIMIT_NPROC, nproc, nproc),
            (resource.RLIMIT_FSIZE, config.max_file_bytes, config.max_file_bytes),
            (resource.RLIMIT_NOFILE, config.max_open_files, config.max_open_files),
            (resource.RLIMIT_CORE, 0, 0),
            # SIGXCPU at the soft limit; SIGKILL at the hard one if it is caught.
            (resource.RLIMIT_CPU, cpu_s, cpu_s + 1))

  def setup():
    for which, soft, hard in limits:
      resource.setrlimit(which, (soft, hard))
    if drop is not None:
      drop()
    else:
      libc = ctypes.CDLL(None, use_errno=True)
      libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
  return setup


def _exited(proc: subprocess.Popen) -> bool:
  """Whether the child has exited, without reaping it (``_wait_cpu`` does)."""
  try:
    return os.waitid(os.P_PID, proc.pid,
                     os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
  except ChildProcessError:
    return True


def _read_capped(proc: subprocess.Popen, deadline: float, cap: int,
                 after_exit=None):
  """Read stdout/stderr until EOF, the deadline or the stdout cap.

  ``after_exit``: called once when the pipes stay open after the child exited
  (a daemon holds them); it should kill the holders.
  """
  out, err = bytearray(), bytearray()
  sel = selectors.DefaultSelector()
  sel.register(proc.stdout, selectors.EVENT_READ, out)
  sel.register(proc.stderr, selectors.EVENT_READ, err)
  timed_out = limited = False
  while sel.get_map():
    remaining = deadline - time.monotonic()
    if remaining <= 0:
      timed_out = True
      break
    events = sel.select(timeout=min(remaining, 0.5))
    if not events and after_exit is not None and _exited(proc):
      after_exit()
      after_exit = None
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


def _kill_group(proc: subprocess.Popen) -> None:
  try:
    os.killpg(proc.pid, signal.SIGKILL)
  except ProcessLookupError:
    pass


def run_python(files: dict[str, str], entry: str, config: SandboxConfig, *,
               stdin: str | None = None, timeout_s: float | None = None,
               cpu_time_s: float | None = None,
               extra_args: tuple[str, ...] = ()) -> RunResult:
  """Run ``python -I entry`` in a fresh sandbox holding ``files``.

  The public entry point for running untrusted code in a fresh sandbox (see
  the module docstring for how it is isolated); raises ``SandboxUnavailable`` when it
  cannot be run safely under ``config``.

  Args:
    files: file name -> text, written to the program's private working dir.
    entry: which of ``files`` to run as the main script.
    config: limits; ``config.timeout_s`` unless ``timeout_s`` is given.
    stdin: text fed on stdin, or None for ``/dev/null``.
    timeout_s: wall cap for this run (default ``config.timeout_s``).
    cpu_time_s: CPU seconds for this run's tests (default
      ``config.cpu_time_s``); see ``cpu_limit_seconds``.
    extra_args: argv after the script name.
  """
  if entry not in files:
    raise ValueError(f'entry {entry!r} is not one of the files {sorted(files)}')
  timeout_s = config.timeout_s if timeout_s is None else timeout_s
  cpu_time_s = config.cpu_time_s if cpu_time_s is None else cpu_time_s
  return _run_in_workdir(files, entry, config, stdin, timeout_s, cpu_time_s,
                         extra_args, isolation_mode(config))


def _run_in_workdir(files, entry, config, stdin, timeout_s, cpu_time_s,
                    extra_args, mode) -> RunResult:
  root = os.geteuid() == 0
  if root and mode == UNSANDBOXED:
    raise SandboxUnavailable('model-written code never runs as root')
  uid = config.sandbox_uid if root else os.geteuid()
  workdir = tempfile.mkdtemp(prefix='restem_sbx_')
  try:
    for name, text in files.items():
      with open(os.path.join(workdir, name), 'w', encoding='utf-8') as f:
        f.write(text)
    if stdin is not None:
      with open(os.path.join(workdir, '.stdin'), 'w', encoding='utf-8') as f:
        f.write(stdin)
    python, prefix = bubblewrap.interpreter()
    argv = [python, '-I', entry, *extra_args]
    if mode == BUBBLEWRAP:
      argv = bubblewrap.bwrap_argv(workdir, argv, tmpfs_mb=config.tmpfs_mb,
                                   sandbox_uid=config.sandbox_uid)
    if root:
      for name in os.listdir(workdir) + ['']:
        os.chown(os.path.join(workdir, name), uid, uid)
    nproc = config.max_processes + (processes_of(uid) if uid != 0 else 0)
    cpu_s = cpu_limit_seconds(cpu_time_s)
    if mode != UID_DROP:
      return _launch(argv, workdir, stdin is not None, config, timeout_s, cpu_s,
                     _preexec(config, cpu_s, nproc, None), mode)
    ns_read, ns_write = os.pipe()
    try:
      drop = uid_sandbox.child_setup(workdir, prefix, uid, config.tmpfs_mb,
                                     uid_sandbox.namespaces_available(), ns_write)
      return _launch(argv, workdir, stdin is not None, config, timeout_s, cpu_s,
                     _preexec(config, cpu_s, nproc, drop), mode,
                     (ns_read, ns_write, uid))
    finally:
      os.close(ns_read)
  finally:
    shutil.rmtree(workdir, ignore_errors=True)


def _wait_cpu(proc: subprocess.Popen, deadline: float):
  """(exit code, CPU seconds of the child) or None at the deadline."""
  while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
      proc.returncode = os.waitstatus_to_exitcode(status)
      return proc.returncode, usage.ru_utime + usage.ru_stime
    if time.monotonic() > deadline:
      return None
    time.sleep(0.005)


def _start(argv, workdir, has_stdin, preexec) -> subprocess.Popen:
  env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8',
         'HOME': workdir, 'TMPDIR': workdir, 'PYTHONIOENCODING': 'utf-8'}
  stdin_file = (open(os.path.join(workdir, '.stdin'), 'rb') if has_stdin
                else subprocess.DEVNULL)
  try:
    return subprocess.Popen(
        argv, cwd=workdir, env=env, stdin=stdin_file, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec,
        close_fds=True)
  finally:
    if has_stdin:
      stdin_file.close()


def _read_mount_ns(ns_pipe) -> int | None:
  """Inode of the child's mount namespace, reported by ``uid_sandbox``."""
  if ns_pipe is None:
    return None
  data = os.read(ns_pipe[0], 8)  # the child has exec'd: the write ends are closed
  return int.from_bytes(data, 'little') if len(data) == 8 else None


def _launch(argv, workdir, has_stdin, config, timeout_s, cpu_s, preexec,
            mode, ns_pipe=None):
  deadline = time.monotonic() + timeout_s
  try:
    proc = _start(argv, workdir, has_stdin, preexec)
  finally:
    if ns_pipe is not None:
      os.close(ns_pipe[1])
  mount_ns = _read_mount_ns(ns_pipe)
  sandboxed = mode == BUBBLEWRAP
  sweep = None if mount_ns is None else functools.partial(
      uid_sandbox.kill_leftovers, ns_pipe[2], mount_ns)
  try:
    out, err, timed_out, limited = _read_capped(
        proc, deadline, config.max_output_bytes, sweep)
    if timed_out or limited:
      _kill_group(proc)
      proc.wait()
      return RunResult(None, out, err, timed_out, limited, sandboxed,
                       isolation=mode)
    waited = _wait_cpu(proc, max(deadline, time.monotonic() + 0.1))
    if waited is None:
      _kill_group(proc)
      proc.wait()
      return RunResult(None, out, err, True, False, sandboxed, isolation=mode)
    _kill_group(proc)  # leftovers of the session, if any
    returncode, cpu_used = waited
    return RunResult(returncode, out, err, False, False, sandboxed,
                     cpu_exceeded(returncode, cpu_used, cpu_s),
                     isolation=mode)
  finally:
    proc.stdout.close()
    proc.stderr.close()
    if sweep is not None:  # daemons that left the process group
      sweep()
