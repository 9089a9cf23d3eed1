"""Atomic writes: a reader (or a resumed run) sees the old file or the new one, never half.

Filesystems with rename (local disks, in-memory `ram://`, HDFS): write to a temporary
name unique to this writer (host, pid, random suffix — two writers never share one),
then rename over the target. Object stores (gs://, s3://, az://): an object upload
becomes visible only when it completes, so the target is written directly; rename
there is a copy plus delete and is not atomic.
"""

from __future__ import annotations

import json
import os
import socket
import uuid

from restem_jax.io import paths

# Object stores: an upload is atomic, a rename is not.
_OBJECT_STORE_SCHEMES = ("gs://", "s3://", "az://")


def _tmp_name(target: str) -> str:
  return f"{target}.tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def write_bytes_atomic(target: paths.PathLike, data: bytes) -> None:
  """Writes `data` to `target` atomically; parent directories are created."""
  target = os.fspath(target)
  dest = paths.path(target)
  dest.parent.mkdir(parents=True, exist_ok=True)
  if target.startswith(_OBJECT_STORE_SCHEMES):
    dest.write_bytes(data)
    return
  tmp = paths.path(_tmp_name(target))
  try:
    tmp.write_bytes(data)
    tmp.replace(dest)
  finally:
    if tmp.exists():
      tmp.unlink()


def write_text_atomic(target: paths.PathLike, text: str) -> None:
  write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: paths.PathLike, obj, indent: int | None = None) -> None:
  """Writes JSON so that a kill at any moment leaves either the old file or the new one."""
  write_text_atomic(target, json.dumps(obj, indent=indent))


def write_tree_atomic(target: paths.PathLike, local_dir: str) -> None:
  """Replaces the directory `target` by a copy of the local directory `local_dir`.

  A reader sees the old tree or the new one, never a mix of the two: the files are
  copied to a temporary sibling, the old tree is renamed aside, the new one renamed in,
  then the old one removed (between the two renames `target` is briefly absent).
  Elsewhere (gs://, ram://, ...) a directory rename is a copy plus delete or is not
  supported, so the old tree is removed and each file is written atomically in place.
  """
  target = os.fspath(target)
  if not paths.is_local(target):
    paths.rmtree(target)
    for root, _, files in os.walk(local_dir):
      for name in files:
        rel = os.path.relpath(os.path.join(root, name), local_dir)
        with open(os.path.join(root, name), "rb") as f:
          write_bytes_atomic(paths.join(target, *rel.split(os.sep)), f.read())
    return
  tmp, old = paths.path(_tmp_name(target)), paths.path(_tmp_name(target))
  try:
    paths.copy_tree(local_dir, tmp)
  except BaseException:
    paths.rmtree(tmp)
    raise
  dest = paths.path(target)
  if dest.exists():
    dest.rename(old)
  tmp.rename(dest)
  paths.rmtree(old)
