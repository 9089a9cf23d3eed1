"""The one JSONL reader: JSON objects a line, optionally gzipped, each with its line number.

Task files (`tasks/row_files.py`), the data sets' native records (`tasks/records.py`) and
the generate CLI's prompts (`generation/jsonl_io.py`) all read through `read_objects`, so
a line that is not JSON or not an object is reported the same way everywhere: a
`JsonlLineError` carrying the path, the line number and the reason, which each caller
words in its own error format.
"""

from __future__ import annotations

import gzip
import json

from restem_jax.io import paths


class JsonlLineError(ValueError):
  """A line of a JSONL file that is not a JSON object: `path`, `line` (1-based), `reason`."""

  def __init__(self, path: str, line: int, reason: str):
    super().__init__(f"{path}, line {line}: {reason}")
    self.path, self.line, self.reason = path, line, reason


def _lines(path: str) -> list[str]:
  data = paths.read_bytes(path)
  if path.endswith(".gz"):
    data = gzip.decompress(data)
  return data.decode("utf-8").splitlines()


def read_objects(path: str) -> list[tuple[int, dict]]:
  """(line number, object) for every non-blank line of a .jsonl or .jsonl.gz file.

  Raises JsonlLineError for a line that is not valid JSON or not a JSON object; OSError,
  gzip.BadGzipFile or UnicodeDecodeError for a file that cannot be read as text.
  """
  rows = []
  for n, line in enumerate(_lines(path), start=1):
    if not line.strip():
      continue
    try:
      obj = json.loads(line)
    except ValueError as e:
      raise JsonlLineError(path, n, f"not valid JSON ({e}).") from e
    if not isinstance(obj, dict):
      raise JsonlLineError(path, n, f"expected a JSON object, got {type(obj).__name__}.")
    rows.append((n, obj))
  return rows
