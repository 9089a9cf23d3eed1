"""The sandbox without bubblewrap, for a root host: private namespaces, then an unprivileged uid.

Used when bubblewrap is missing or disabled (``SandboxConfig.use_bubblewrap=False``)
and this process is root, which would otherwise run model-written code as root
(root ignores RLIMIT_NPROC: a fork bomb is unbounded). Between fork and exec the
child, after its rlimits are set:

1. enters new mount, network, IPC and UTS namespaces (``unshare(2)``) when the
   kernel allows it (``namespaces_available``; a container without
   CAP_SYS_ADMIN does not): no network (the new namespace's loopback is down),
   and private tmpfs over ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/root``,
   ``/home`` and ``/run`` (the world-writable and private places), with only
   the run's work dir bound back at its own path and the interpreter's install
   prefix bound back read-only when it lives under a hidden dir;
2. clears its supplementary groups, sets gid then uid to ``sandbox_uid``, so
   RLIMIT_NPROC and file permissions apply (files outside the work dir are
   read-only to it, like inside bubblewrap's read-only root);
3. sets PR_SET_PDEATHSIG (cleared by the uid change, so set after it).

A program that leaves its process group (``setsid``, a daemon) is still found
after the run: ``kill_leftovers`` SIGKILLs every process of ``sandbox_uid`` in
the run's own mount namespace. Without namespaces only the process group is
killed (see docs/verify.md, "Known limits").
"""

import ctypes
import functools
import os
import signal
import subprocess
import time

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWNET = 0x40000000
_NAMESPACES = _CLONE_NEWNS | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWNET
_MS_RDONLY, _MS_NOSUID, _MS_NODEV = 1, 2, 4
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG = 1
HIDDEN_DIRS = ('/tmp', '/var/tmp', '/dev/shm', '/root', '/home', '/run')


def _libc():
  return ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
  if ret != 0:
    err = ctypes.get_errno()
    raise OSError(err, f'{what}: {os.strerror(err)}')


def _mount(libc, source, target, fstype, flags, data=None) -> None:
  enc = lambda s: None if s is None else s.encode()
  _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
         f'mount {target}')


def _under(path: str, parent: str) -> bool:
  return path == parent or path.startswith(parent + '/')


def _private_mounts(libc, workdir: str, prefix: str, tmpfs_mb: int,
                    shared_tmp: bool) -> None:
  """Hide the shared writable/private dirs; bind back the work dir and prefix.

  ``shared_tmp``: the new ``/tmp``, ``/var/tmp``, ``/dev/shm`` are world
  writable (1777); else root's alone (0755), as inside bubblewrap.
  """
  _mount(libc, None, '/', None, _MS_REC | _MS_PRIVATE)
  work_fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
  hidden = [d for d in HIDDEN_DIRS if os.path.isdir(d) and not os.path.islink(d)]
  prefix_hidden = any(_under(prefix, d) for d in hidden)
  prefix_fd = os.open(prefix, os.O_RDONLY | os.O_DIRECTORY) if prefix_hidden else -1
  for d in hidden:
    mode = '1777' if shared_tmp and d in ('/tmp', '/var/tmp', '/dev/shm') else '0755'
    _mount(libc, 'tmpfs', d, 'tmpfs', _MS_NOSUID | _MS_NODEV,
           f'size={tmpfs_mb << 20},mode={mode}')
  for fd, target, flags in ((work_fd, workdir, 0),
                            (prefix_fd, prefix, _MS_RDONLY | _MS_NOSUID)):
    if fd < 0:
      continue
    os.makedirs(target, mode=0o755, exist_ok=True)
    _mount(libc, f'/proc/self/fd/{fd}', target, None, _MS_BIND | _MS_REC)
    if flags:
      _mount(libc, None, target, None, _MS_REMOUNT | _MS_BIND | flags)
    os.close(fd)
  os.chdir(workdir)


def child_setup(workdir: str, prefix: str, uid: int, tmpfs_mb: int,
                namespaces: bool, ns_report_fd: int):
  """Between fork and exec, as root: namespaces, mounts, then drop to ``uid``.

  ``ns_report_fd``: write end of a pipe that receives the inode of the child's
  mount namespace (8 bytes), for ``kill_leftovers``; -1 for none.
  """
  enter = namespace_setup(workdir, prefix, tmpfs_mb, ns_report_fd, shared_tmp=True)

  def setup():
    libc = _libc()
    if namespaces:
      enter()
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
      raise OSError('could not drop privileges')
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
  return setup


def namespace_setup(workdir: str, prefix: str, tmpfs_mb: int, ns_report_fd: int,
                    *, shared_tmp: bool):
  """Step 1 alone (new namespaces and private mounts), for a preexec_fn.

  ``child_setup`` runs it before dropping the uid; ``warm_sandbox`` runs it for
  its server (root inside the namespaces; each sample drops the uid itself,
  with ``shared_tmp=False`` so the samples share no writable dir).
  """
  def enter():
    libc = _libc()
    _check(libc.unshare(_NAMESPACES), 'unshare')
    _private_mounts(libc, workdir, prefix, tmpfs_mb, shared_tmp)
    if ns_report_fd >= 0:
      os.write(ns_report_fd, os.stat('/proc/self/ns/mnt').st_ino.to_bytes(8, 'little'))
  return enter


@functools.lru_cache(maxsize=None)
def namespaces_available() -> bool:
  """Whether a child may ``unshare`` the namespaces above (checked once)."""
  def setup():
    _check(_libc().unshare(_NAMESPACES), 'unshare')
  try:
    return subprocess.run(['/bin/true'], preexec_fn=setup,
                          timeout=30).returncode == 0
  except (OSError, subprocess.SubprocessError):
    return False


def _mount_ns_of(pid: str) -> int | None:
  try:
    return os.stat(f'/proc/{pid}/ns/mnt').st_ino
  except OSError:
    return None


def kill_leftovers(uid: int, mount_ns: int, rounds: int = 50) -> int:
  """SIGKILL every process of ``uid`` in mount namespace ``mount_ns``.

  Repeats until none is left (a fork bomb forks while it is being killed);
  returns how many kill signals were sent.
  """
  sent = 0
  for _ in range(rounds):
    found = []
    for pid in os.listdir('/proc'):
      if not pid.isdigit():
        continue
      try:
        if os.stat(f'/proc/{pid}').st_uid != uid:
          continue
      except OSError:
        continue
      if _mount_ns_of(pid) == mount_ns:
        found.append(int(pid))
    if not found:
      return sent
    for pid in found:
      try:
        os.kill(pid, signal.SIGKILL)
        sent += 1
      except ProcessLookupError:
        pass
    time.sleep(0.01)
  return sent
