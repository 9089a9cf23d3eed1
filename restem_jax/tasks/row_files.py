"""Reading a user's task file: JSONL (optionally gzipped) or Parquet rows, with line numbers.

Every row must be a JSON object. An unreadable file, a line that is not JSON or not an
object is a `RowFileError` naming the config field, the file and the line, raised
while the run is still being set up (before any model work). Parquet needs `pyarrow`
(imported only for .parquet files); its rows are numbered from 1 like lines.
"""

from __future__ import annotations

import os

from restem_jax.io import jsonl


class RowFileError(ValueError):
  """A task file or row that cannot be used: names the field, file, line and column."""


def _jsonl_rows(path: str, field: str) -> list[tuple[int, dict]]:
  try:
    return jsonl.read_objects(path)
  except jsonl.JsonlLineError as e:
    raise RowFileError(f"{field}: {e}") from e
  except (OSError, UnicodeDecodeError) as e:
    raise RowFileError(f"{field}: cannot read {path}: {e}") from e


def _parquet_rows(path: str, field: str) -> list[tuple[int, dict]]:
  try:
    import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise RowFileError(f"{field}: reading {path} needs pyarrow (pip install pyarrow), or "
                       "convert it to JSONL.") from e
  try:
    table = pq.read_table(path)
  except Exception as e:  # pyarrow raises its own error types for bad files
    raise RowFileError(f"{field}: cannot read {path} as Parquet: {e}") from e
  return list(enumerate(table.to_pylist(), start=1))


def read_rows(path: str, field: str) -> list[tuple[int, dict]]:
  """(line number, row) pairs of a .jsonl[.gz] or .parquet file named by config `field`."""
  if not os.path.isfile(path):
    raise RowFileError(f"{field}={path!r}: file not found (absolute: {os.path.abspath(path)}).")
  if path.endswith(".parquet"):
    return _parquet_rows(path, field)
  rows = _jsonl_rows(path, field)
  if not rows:
    raise RowFileError(f"{field}={path!r}: the file holds no rows.")
  return rows
