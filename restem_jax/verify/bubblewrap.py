"""Building and probing the bubblewrap (``bwrap``) command line.

The sandbox: no network (new net namespace, loopback down), read-only root,
private tmpfs ``/tmp`` with the program's working dir at ``/tmp/work``, home
directories hidden, new PID namespace (so killing ``bwrap`` ends every process
the program started, daemons included), ``--die-with-parent`` and
``--new-session``. When the host process is root the program is started with
``setpriv`` as an unprivileged uid, because root ignores RLIMIT_NPROC (a fork
bomb would not be contained). The Python interpreter's install prefix is
bound read-only at its own path, since it may live in a home directory.
"""

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import tempfile

WORKDIR_INSIDE = '/tmp/work'
_HIDDEN_DIRS = ('/root', '/home', '/run')


@dataclasses.dataclass(frozen=True)
class Probe:
  """Whether bubblewrap works here, and why not if it does not."""
  ok: bool
  reason: str


def interpreter() -> tuple[str, str]:
  """(real path of the Python executable, install prefix to bind)."""
  return os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix)


def bwrap_argv(workdir: str, argv: list[str], *, tmpfs_mb: int,
               sandbox_uid: int, keep_root: bool = False) -> list[str]:
  """Full command running ``argv`` inside bubblewrap with ``workdir`` as cwd.

  ``keep_root``: as root, run ``argv`` as root inside the sandbox instead of
  via ``setpriv`` as ``sandbox_uid``; only for ``warm_server.py``, trusted
  code that drops to ``sandbox_uid`` in each child it forks for a sample.
  """
  bwrap = shutil.which('bwrap')
  if bwrap is None:
    raise FileNotFoundError('bwrap not found on PATH')
  _, prefix = interpreter()
  root = os.geteuid() == 0
  if root:  # no user namespace: setpriv below drops to an unmapped-free uid
    ns = ['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts',
          '--unshare-cgroup-try']
  else:
    ns = ['--unshare-all']
  cmd = [bwrap, *ns, '--die-with-parent', '--new-session',
         '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc',
         '--size', str(tmpfs_mb << 20), '--tmpfs', '/tmp']
  for hidden in _HIDDEN_DIRS:
    if os.path.isdir(hidden) and not os.path.islink(hidden):
      cmd += ['--tmpfs', hidden]
  cmd += _parent_dirs(prefix)
  cmd += ['--ro-bind', prefix, prefix,
          '--bind', workdir, WORKDIR_INSIDE, '--chdir', WORKDIR_INSIDE,
          '--clearenv', '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
          '--setenv', 'HOME', WORKDIR_INSIDE, '--setenv', 'TMPDIR', WORKDIR_INSIDE,
          '--setenv', 'LANG', 'C.UTF-8', '--setenv', 'PYTHONIOENCODING', 'utf-8',
          '--']
  if root and not keep_root:
    setpriv = shutil.which('setpriv')
    if setpriv is None:
      raise FileNotFoundError('running as root needs setpriv (util-linux)')
    cmd += [setpriv, f'--reuid={sandbox_uid}', f'--regid={sandbox_uid}',
            '--clear-groups']
  return cmd + argv


def _parent_dirs(path: str) -> list[str]:
  """World-traversable parents for ``path`` (bwrap creates them as 0700)."""
  args, parts = [], path.strip('/').split('/')[:-1]
  for i in range(1, len(parts) + 1):
    parent = '/' + '/'.join(parts[:i])
    if any(parent == h or parent.startswith(h + '/') for h in _HIDDEN_DIRS):
      if parent not in _HIDDEN_DIRS:
        args += ['--perms', '0755', '--dir', parent]
  return args


@functools.lru_cache(maxsize=None)
def probe(sandbox_uid: int = 65534) -> Probe:
  """Run a trivial program in the sandbox once per process; cache the answer."""
  if shutil.which('bwrap') is None:
    return Probe(False, 'bwrap not installed (apt-get install -y bubblewrap)')
  python, _ = interpreter()
  workdir = tempfile.mkdtemp(prefix='restem_bwrap_probe_')
  try:
    if os.geteuid() == 0:
      os.chown(workdir, sandbox_uid, sandbox_uid)
    code = ('import os, socket; open("ok", "w").write("1"); '
            'print(os.getuid(), os.getcwd())')
    cmd = bwrap_argv(workdir, [python, '-I', '-c', code], tmpfs_mb=8,
                     sandbox_uid=sandbox_uid)
    out = subprocess.run(cmd, capture_output=True, timeout=30,
                         stdin=subprocess.DEVNULL)
  except (OSError, subprocess.SubprocessError) as e:
    return Probe(False, f'bwrap probe failed: {e}')
  finally:
    shutil.rmtree(workdir, ignore_errors=True)
  if out.returncode != 0:
    return Probe(False, 'bwrap probe exited with '
                 f'{out.returncode}: {out.stderr.decode(errors="replace")[-300:]}')
  if not out.stdout.decode().strip().endswith(WORKDIR_INSIDE):
    return Probe(False, f'bwrap probe printed {out.stdout[-200:]!r}')
  return Probe(True, 'ok')
