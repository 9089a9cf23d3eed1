"""Limits and switches for running one untrusted program (``SandboxConfig``)."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
  """How untrusted code is run; built once and passed down (never global).

  Attributes:
    timeout_s: wall-clock cap of ONE sandboxed run (one APPS stdin/stdout test,
      or the harness run that executes all tests of a functional sample); the
      program is SIGKILLed (with its whole sandbox) when it runs out. It is a
      generous safety net for programs that block without computing: whether
      a program is too slow is decided by ``cpu_time_s``, which does not
      depend on what else runs on the machine.
    cpu_time_s: CPU seconds allowed per test (RLIMIT_CPU, as APPS's own harness
      limits each test): a run executing t tests gets ``t * cpu_time_s`` plus
      1 s for interpreter start-up, rounded up to whole seconds.
    memory_mb: RLIMIT_AS of the program, in MiB.
    max_output_bytes: stdout beyond this many bytes kills the run and fails it.
    max_processes: RLIMIT_NPROC for the sandbox user (contains fork bombs).
    max_file_bytes: RLIMIT_FSIZE, the largest file the program may write.
    max_open_files: RLIMIT_NOFILE.
    tmpfs_mb: size of the private ``/tmp`` inside bubblewrap.
    use_bubblewrap: use bubblewrap when it works on this host (False forces
      the fallback below, as the tests of that fallback do).
    require_bubblewrap: refuse to run code (raise ``SandboxUnavailable``)
      when bubblewrap does not work, instead of using the fallback.
    allow_unsandboxed: without bubblewrap and not root, run code anyway with
      rlimits only, as this process's own uid (default: refuse, since the code
      could then read and write everything this user can). As root the
      fallback is always the uid drop of ``uid_sandbox.py``, never root.
    sandbox_uid: unprivileged uid/gid the program runs as when the host
      process is root (root ignores RLIMIT_NPROC); 65534 is ``nobody``.
    warm_server: code checkers run programs through one long-lived sandboxed
      server per process, a forked child per program (``warm_sandbox.py``),
      where it applies (as root, in the ``bubblewrap`` or ``uid_drop`` mode);
      False: a fresh sandbox and interpreter per program.
  """
  timeout_s: float = 10.0
  cpu_time_s: float = 4.0
  memory_mb: int = 1024
  max_output_bytes: int = 4 << 20
  max_processes: int = 32
  max_file_bytes: int = 16 << 20
  max_open_files: int = 64
  tmpfs_mb: int = 64
  use_bubblewrap: bool = True
  require_bubblewrap: bool = False
  allow_unsandboxed: bool = False
  sandbox_uid: int = 65534
  warm_server: bool = True

  def __post_init__(self):
    for name in ('timeout_s', 'cpu_time_s', 'memory_mb', 'max_output_bytes', 'max_processes',
                 'max_file_bytes', 'max_open_files', 'tmpfs_mb'):
      if getattr(self, name) <= 0:
        raise ValueError(f'SandboxConfig.{name} must be > 0, '
                         f'got {getattr(self, name)!r}')
    if self.require_bubblewrap and not self.use_bubblewrap:
      raise ValueError('SandboxConfig: require_bubblewrap=True contradicts '
                       'use_bubblewrap=False')
    if not 0 < self.sandbox_uid < 2**32 - 1:
      raise ValueError(f'SandboxConfig.sandbox_uid must be a non-root uid, got '
                       f'{self.sandbox_uid!r}')
