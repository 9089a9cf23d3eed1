"""One file from ordered part files, checked against a known size and SHA-256.

Large model files reach us split into parts (e.g. data-only wheels on PyPI, each under the
registry's size limit). `assemble(parts, dest, sha256=..., size=...)` concatenates them in
the given order, hashing while it writes, into `dest + '.partial'`, and moves the result
into place only when the size and hash match, so a wrong, truncated or reordered part never
leaves a file that looks finished. Every failure names its culprit: the missing part, or
the expected and actual size / hash of the assembled file.
"""

from __future__ import annotations

import hashlib
import os

_CHUNK = 16 * 1024 * 1024


class PartsError(ValueError):
  """A part is missing, or the assembled file's size or SHA-256 is not the expected one."""


def sha256_of(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(_CHUNK), b""):
      h.update(block)
  return h.hexdigest()


def check_parts(parts: list[str]) -> None:
  """PartsError naming the first part that is not a file (before anything is written)."""
  if not parts:
    raise PartsError("no part files given.")
  for i, part in enumerate(parts):
    if not os.path.isfile(part):
      raise PartsError(f"part {i + 1} of {len(parts)} is missing: {part}")


def assemble(parts: list[str], dest: str, *, sha256: str, size: int | None = None) -> str:
  """Concatenates `parts` in order into `dest`, checking `size` (bytes) and `sha256`.

  An existing `dest` is reused when its size and hash already match (and replaced when they
  do not). Returns `dest`.
  """
  sha256 = sha256.lower()
  if os.path.isfile(dest) and (size is None or os.path.getsize(dest) == size) and \
      sha256_of(dest) == sha256:
    return dest
  check_parts(parts)
  partial = dest + ".partial"
  h, written = hashlib.sha256(), 0
  try:
    with open(partial, "wb") as out:
      for part in parts:
        with open(part, "rb") as f:
          for block in iter(lambda f=f: f.read(_CHUNK), b""):
            h.update(block)
            out.write(block)
            written += len(block)
    if size is not None and written != size:
      raise PartsError(f"{dest}: the {len(parts)} parts ({parts[0]} ...) add up to {written:,} "
                       f"bytes, expected {size:,}: a part is truncated, extra or missing.")
    if h.hexdigest() != sha256:
      raise PartsError(f"{dest}: SHA-256 of the assembled parts is {h.hexdigest()}, expected "
                       f"{sha256} (parts: {parts}); a part is corrupt, out of order or of "
                       "another version.")
    os.replace(partial, dest)
  finally:
    if os.path.exists(partial):
      os.remove(partial)
  return dest
