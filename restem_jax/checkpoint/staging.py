"""Checkpoints on filesystems Orbax cannot write itself, through a local copy.

Orbax (TensorStore) writes local directories and gs:// natively, on every process of a
multi-host run. For any other scheme of the path layer (e.g. `ram://`, `hdfs://`) a
checkpoint directory is mirrored: read down into a local temporary directory when
opened, saved there by Orbax, and copied back up through `restem_jax.io` after each
save. Single-process runs only: with several processes each host holds only its own
array shards, which Orbax can merge only in a shared directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import jax

from restem_jax import io

_ORBAX_NATIVE_SCHEMES = ("gs://",)


class Staging:
  """A local mirror of a remote checkpoint directory."""

  def __init__(self, remote_dir: str):
    if jax.process_count() > 1:
      raise ValueError(f"checkpoint directory {remote_dir}: Orbax cannot write this scheme "
                       "itself, and a multi-process run needs a shared directory Orbax writes "
                       "(a local/NFS path or gs://).")
    self.remote_dir = remote_dir
    self.local_dir = tempfile.mkdtemp(prefix="restem_ckpt_stage_")
    if io.isdir(remote_dir):
      io.copy_tree(remote_dir, self.local_dir)

  @classmethod
  def for_directory(cls, directory: str) -> "Staging | None":
    if io.is_local(directory) or directory.startswith(_ORBAX_NATIVE_SCHEMES):
      return None
    return cls(directory)

  def push(self) -> None:
    """Makes the remote directory equal to the local one (steps Orbax deleted go too)."""
    local = set(os.listdir(self.local_dir))
    for name in io.listdir(self.remote_dir):
      if name not in local:
        io.rmtree(io.join(self.remote_dir, name))
    io.copy_tree(self.local_dir, self.remote_dir)

  def cleanup(self) -> None:
    shutil.rmtree(self.local_dir, ignore_errors=True)
