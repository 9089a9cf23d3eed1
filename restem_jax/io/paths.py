"""Path operations on local and remote (gs://, s3://, registered gfile schemes) paths.

Every function takes a `str` or path and works through `etils.epath`; remote paths keep
their scheme (`join("gs://b/run", "x")` is `"gs://b/run/x"`, never a local `gs:` dir).
"""

from __future__ import annotations

import json
import os
from typing import Any

from etils import epath

from restem_jax.io import schemes

PathLike = str | os.PathLike


def path(p: PathLike) -> epath.Path:
  """The epath for `p` (raises a clear error for a scheme no backend understands)."""
  try:
    return epath.Path(p)
  except KeyError as e:
    raise ValueError(f"path {p!r}: unsupported scheme {e.args[0]!r} (supported: local paths, "
                     "gs://, s3://, az://, and schemes added with "
                     "restem_jax.io.register_gfile_scheme)") from None


def is_local(p: PathLike) -> bool:
  """True for paths on the local filesystem (no `scheme://` prefix)."""
  return "://" not in os.fspath(p)


def join(p: PathLike, *parts: str) -> str:
  return os.fspath(path(p).joinpath(*parts))


def exists(p: PathLike) -> bool:
  return path(p).exists()


def isdir(p: PathLike) -> bool:
  return path(p).is_dir()


def makedirs(p: PathLike) -> None:
  path(p).mkdir(parents=True, exist_ok=True)


def rmtree(p: PathLike) -> None:
  """Removes a directory tree (no error when it is absent)."""
  q = path(p)
  if q.exists():
    q.rmtree()


def listdir(p: PathLike) -> list[str]:
  """Sorted entry names of a directory ([] when it does not exist)."""
  q = path(p)
  if not q.exists():
    return []
  return sorted(c.name for c in q.iterdir())


def read_text(p: PathLike) -> str:
  return path(p).read_text()


def read_bytes(p: PathLike) -> bytes:
  return path(p).read_bytes()


def read_json(p: PathLike) -> Any:
  return json.loads(read_text(p))


def write_text(p: PathLike, text: str) -> None:
  """Plain (non-atomic) write that replaces the file; parents are created."""
  write_bytes(p, text.encode("utf-8"))


def write_bytes(p: PathLike, data: bytes) -> None:
  """Plain (non-atomic) write that replaces the file; parents are created.

  On gfile schemes an existing file is removed first: TensorFlow's `ram://` filesystem
  appends to an existing file instead of truncating it.
  """
  q = path(p)
  q.parent.mkdir(parents=True, exist_ok=True)
  if schemes.is_gfile_path(q) and q.exists():
    q.unlink()
  q.write_bytes(data)


def copy_tree(src: PathLike, dst: PathLike) -> None:
  """Copies the files under `src` to `dst` (any scheme to any scheme); overwrites files."""
  s, d = path(src), path(dst)
  d.mkdir(parents=True, exist_ok=True)
  for child in s.iterdir():
    if child.is_dir():
      copy_tree(child, d / child.name)
    else:
      write_bytes(d / child.name, child.read_bytes())
