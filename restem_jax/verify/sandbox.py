"""Running one untrusted Python program: bubblewrap + rlimits + CPU limit + wall cap.

``run_python`` starts a fresh ``python -I`` in a new session, inside bubblewrap
when it works (see ``bubblewrap.py``), always under rlimits (CPU seconds,
address space, processes, file size, open files, no core dumps), with a
scrubbed environment, stdin from a file or ``/dev/null``, stdout read with a
byte cap and a wall cap after which the whole process group is SIGKILLed.
RLIMIT_CPU (SIGXCPU, then SIGKILL one second later) is what normally ends a
slow program: CPU time does not grow when the machine is busy, wall time does. Without bubblewrap only the rlimits protect the host; a warning is
logged once, and ``SandboxConfig.require_bubblewrap`` turns that into an error.
"""

import ctypes
import dataclasses
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
from restem_jax.verify.sandbox_config import SandboxConfig

_STDERR_TAIL = 8192
_PR_SET_PDEATHSIG = 1
_XCPU_STATUSES = (-signal.SIGXCPU, 128 + signal.SIGXCPU)
_KILL_STATUSES = (-signal.SIGKILL, 128 + signal.SIGKILL)
_warned_no_bwrap = False


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
  """
  returncode: int | None
  stdout: bytes
  stderr: bytes
  timed_out: bool
  output_limited: bool
  sandboxed: bool
  cpu_exceeded: bool = False


def use_bubblewrap(config: SandboxConfig) -> bool:
  """Decide once per call whether to use bwrap; enforce ``require_bubblewrap``."""
  global _warned_no_bwrap
  if not config.use_bubblewrap:
    return False
  probe = bubblewrap.probe(config.sandbox_uid)
  if probe.ok:
    return True
  if config.require_bubblewrap:
    raise SandboxUnavailable(
        f'SandboxConfig.require_bubblewrap is set but {probe.reason}')
  if not _warned_no_bwrap:
    logging.warning('Running untrusted code WITHOUT bubblewrap (rlimits only): '
                    '%s', probe.reason)
    _warned_no_bwrap = True
  return False


def _processes_of(uid: int) -> int:
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


def _preexec(config: SandboxConfig, cpu_s: int, nproc: int):
  """Child-side setup between fork and exec (the child is single-threaded)."""
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
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
  return setup


def _read_capped(proc: subprocess.Popen, deadline: float, cap: int):
  """Read stdout/stderr until EOF, the deadline or the stdout cap."""
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
    for key, _ in sel.select(timeout=min(remaining, 0.5)):
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
  sandboxed = use_bubblewrap(config)
  workdir = tempfile.mkdtemp(prefix='restem_sbx_')
  try:
    for name, text in files.items():
      with open(os.path.join(workdir, name), 'w', encoding='utf-8') as f:
        f.write(text)
    if stdin is not None:
      with open(os.path.join(workdir, '.stdin'), 'w', encoding='utf-8') as f:
        f.write(stdin)
    python, _ = bubblewrap.interpreter()
    argv = [python, '-I', entry, *extra_args]
    if sandboxed:
      argv = bubblewrap.bwrap_argv(workdir, argv, tmpfs_mb=config.tmpfs_mb,
                                   sandbox_uid=config.sandbox_uid)
    uid = config.sandbox_uid if (sandboxed and os.geteuid() == 0) else os.geteuid()
    if sandboxed and os.geteuid() == 0:
      for name in os.listdir(workdir) + ['']:
        os.chown(os.path.join(workdir, name), uid, uid)
    nproc = config.max_processes + (_processes_of(uid) if uid != 0 else 0)
    cpu_s = cpu_limit_seconds(cpu_time_s)
    return _launch(argv, workdir, stdin is not None, config, timeout_s, cpu_s,
                   _preexec(config, cpu_s, nproc), sandboxed)
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


def _launch(argv, workdir, has_stdin, config, timeout_s, cpu_s, preexec,
            sandboxed):
  env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8',
         'HOME': workdir, 'TMPDIR': workdir, 'PYTHONIOENCODING': 'utf-8'}
  stdin_file = (open(os.path.join(workdir, '.stdin'), 'rb') if has_stdin
                else subprocess.DEVNULL)
  deadline = time.monotonic() + timeout_s
  try:
    proc = subprocess.Popen(
        argv, cwd=workdir, env=env, stdin=stdin_file, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec,
        close_fds=True)
  finally:
    if has_stdin:
      stdin_file.close()
  try:
    out, err, timed_out, limited = _read_capped(
        proc, deadline, config.max_output_bytes)
    if timed_out or limited:
      _kill_group(proc)
      proc.wait()
      return RunResult(None, out, err, timed_out, limited, sandboxed)
    waited = _wait_cpu(proc, max(deadline, time.monotonic() + 0.1))
    if waited is None:
      _kill_group(proc)
      proc.wait()
      return RunResult(None, out, err, True, False, sandboxed)
    _kill_group(proc)  # leftovers of the session, if any
    returncode, cpu_used = waited
    # SIGXCPU (bwrap reports 128 + signal), or SIGKILL at the hard limit when
    # SIGXCPU was caught (rusage, which rounds to scheduler ticks, then says
    # the limit was reached; it only sees the tree outside bubblewrap). A
    # program faking the status only gets itself a ``timeout`` (reward 0).
    cpu_exceeded = (returncode in _XCPU_STATUSES or (
        returncode in _KILL_STATUSES and cpu_used >= 0.9 * cpu_s))
    return RunResult(returncode, out, err, False, False, sandboxed, cpu_exceeded)
  finally:
    proc.stdout.close()
    proc.stderr.close()
