"""Extra URI schemes served by TensorFlow's `tf.io.gfile` (e.g. in-memory `ram://`).

`etils.epath` knows gs://, s3://, az:// and hf:// only. `register_gfile_scheme("ram")`
makes `ram://...` paths epath paths backed by `tf.io.gfile`, which implements the
scheme (TensorFlow's in-memory filesystem: used by the tests to run a whole loop on a
non-local filesystem; `hdfs` works the same way on clusters that have it). This reaches
into etils' registration tables (pinned etils version in setup.py).
"""

from __future__ import annotations

import os

from etils.epath import backend, gpath, register

# Schemes registered here. TensorFlow's gfile filesystems do not all truncate a file
# opened for writing: `ram://` (RamFileSystem) appends to an existing file, so the path
# layer removes such a file before a plain write (`paths.write_bytes`).
_GFILE_SCHEMES: set[str] = set()


def is_gfile_path(p) -> bool:
  """Whether `p` is on a scheme added with `register_gfile_scheme` (ram://, hdfs://, ...)."""
  text = os.fspath(p)
  return "://" in text and text.split("://", 1)[0] in _GFILE_SCHEMES


def register_gfile_scheme(scheme: str) -> None:
  """Routes `scheme://...` paths through epath's tf.io.gfile backend (idempotent)."""
  prefix = f"{scheme}://"
  _GFILE_SCHEMES.add(scheme)
  if prefix in gpath._URI_PREFIXES:  # pylint: disable=protected-access
    return
  gpath._URI_PREFIXES = gpath._URI_PREFIXES + (prefix,)  # pylint: disable=protected-access
  gpath._URI_SCHEMES = gpath._URI_SCHEMES | {scheme}  # pylint: disable=protected-access
  gpath._URI_MAP_ROOT[prefix] = f"/{scheme}/"  # pylint: disable=protected-access
  gpath._PREFIX_TO_BACKEND[scheme] = backend.tf_backend  # pylint: disable=protected-access
  register.register_path_cls(prefix)(gpath.PosixGPath)
