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
