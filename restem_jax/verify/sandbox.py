"""Running one untrusted Python program: bubblewrap + rlimits + deadline.

``run_python`` starts a fresh ``python -I`` in a new session, inside bubblewrap
when it works (see ``bubblewrap.py``), always under rlimits (CPU seconds,
address space, processes, file size, open files, no core dumps), with a
scrubbed environment, stdin from a file or ``/dev/null``, stdout read with a
byte cap and a wall deadline after which the whole process group is
SIGKILLed. Without bubblewrap only the rlimits protect the host; a warning is
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
    timed_out: the wall deadline was hit.
    output_limited: stdout exceeded ``max_output_bytes``.
    sandboxed: ran inside bubblewrap.
  """
  returncode: int | None
  stdout: bytes
  stderr: bytes
  timed_out: bool
  output_limited: bool
  sandboxed: bool


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


def _preexec(config: SandboxConfig, cpu_s: int, nproc: int):
  """Child-side setup between fork and exec (the child is single-threaded)."""
  mem = config.memory_mb << 20
  limits = ((resource.RLIMIT_CPU, cpu_s), (resource.RLIMIT_AS, mem),
            (resource.RLIMIT_NPROC, nproc),
            (resource.RLIMIT_FSIZE, config.max_file_bytes),
            (resource.RLIMIT_NOFILE, config.max_open_files),
            (resource.RLIMIT_CORE, 0))

  def setup():
    for which, value in limits:
      resource.setrlimit(which, (value, value))
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
               extra_args: tuple[str, ...] = ()) -> RunResult:
  """Run ``python -I entry`` in a fresh sandbox holding ``files``.

  Args:
    files: file name -> text, written to the program's private working dir.
    entry: which of ``files`` to run as the main script.
    config: limits; ``config.timeout_s`` unless ``timeout_s`` is given.
    stdin: text fed on stdin, or None for ``/dev/null``.
    timeout_s: wall deadline for this run.
    extra_args: argv after the script name.
  """
  if entry not in files:
    raise ValueError(f'entry {entry!r} is not one of the files {sorted(files)}')
  timeout_s = config.timeout_s if timeout_s is None else timeout_s
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
    cpu_s = max(1, math.ceil(timeout_s)) + 1
    return _launch(argv, workdir, stdin is not None, config, timeout_s,
                   _preexec(config, cpu_s, nproc), sandboxed)
  finally:
    shutil.rmtree(workdir, ignore_errors=True)


def _launch(argv, workdir, has_stdin, config, timeout_s, preexec, sandboxed):
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
    try:
      returncode = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
      _kill_group(proc)
      proc.wait()
      return RunResult(None, out, err, True, False, sandboxed)
    _kill_group(proc)  # leftovers of the session, if any
    return RunResult(returncode, out, err, False, False, sandboxed)
  finally:
    proc.stdout.close()
    proc.stderr.close()
