"""Memory accounted per stage: peak and end host RSS, and bytes per device.

`StageMeter()` starts a stage's measurement; `meter.finish()` returns its record,
which the runner stores in the stage's manifest record under "memory":

  host_peak_rss_bytes  the process's peak resident set during the stage. Linux: the
                       high-water mark VmHWM is reset at the stage start (writing "5"
                       to /proc/self/clear_refs) and read at its end (source "vmhwm").
                       Where that reset is unavailable: getrusage's ru_maxrss, the
                       process's peak since it started (source "ru_maxrss": an upper
                       bound of the stage's peak, not the stage's own).
  host_end_rss_bytes   the resident set at the stage end (VmRSS; else the peak).
  host_peak_source     "vmhwm" | "ru_maxrss", as above.
  devices              one row per local device: {"device", "bytes_in_use",
                       "peak_bytes", "source"}; source "memory_stats" where the
                       backend reports them (GPU/TPU: peak_bytes_in_use, whose peak is
                       the process's, not reset per stage), else "live_arrays" (CPU:
                       the bytes of live jax arrays on the device at the stage end,
                       peak_bytes None).

Child processes (verifier workers) are not counted: their memory is their own. The reset
also resets what `/usr/bin/time -v` reports as the process's maximum RSS (the same kernel
counter): the whole run's peak is the largest host_peak_rss_bytes of its stages.
`summary_memory` collects the records of a run's stages for summary.json, `check`
validates them there, `metric_rows` flattens them for metrics.jsonl. Only the measuring
functions import jax (when they run, inside a stage): the summary schema and the report
use this module without loading jax (tests/loop/test_metrics.py).
"""

from __future__ import annotations

import resource
import sys
from typing import Any

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"
SOURCES = ("vmhwm", "ru_maxrss")
DEVICE_SOURCES = ("memory_stats", "live_arrays")


def _status_bytes(field: str) -> int | None:
  """A `kB` field of /proc/self/status in bytes (None where the file or field is missing)."""
  try:
    with open(_STATUS) as f:
      for line in f:
        if line.startswith(field + ":"):
          return int(line.split()[1]) * 1024
  except OSError:
    return None
  return None


def _reset_peak() -> bool:
  """Resets VmHWM to the current RSS; True where the kernel did."""
  try:
    with open(_CLEAR_REFS, "w") as f:
      f.write("5")
  except OSError:
    return False
  hwm, rss = _status_bytes("VmHWM"), _status_bytes("VmRSS")
  # A kernel that accepts the write but keeps the old mark would report a stale peak.
  return hwm is not None and rss is not None and hwm <= rss + (64 << 20)


def _ru_maxrss_bytes() -> int:
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS: bytes; Linux: KiB


def _live_array_bytes() -> dict:
  """Bytes of live jax arrays per local device (each array's shard on that device)."""
  import jax  # pylint: disable=g-import-not-at-top  (see the module docstring)
  out = {d: 0 for d in jax.local_devices()}
  for arr in jax.live_arrays():
    try:
      shard = arr.sharding.shard_shape(arr.shape)
      devices = arr.sharding.addressable_devices
    except Exception:  # a deleted or unusual array: it holds nothing we can attribute
      continue
    size = arr.dtype.itemsize
    for n in shard:
      size *= n
    for d in devices:
      out[d] = out.get(d, 0) + int(size)
  return out


def device_rows() -> list[dict]:
  """One row per local device: allocator statistics where reported, else live arrays."""
  import jax  # pylint: disable=g-import-not-at-top  (see the module docstring)
  rows, live = [], None
  for d in jax.local_devices():
    try:
      stats = d.memory_stats()
    except Exception:  # backends without allocator statistics (CPU) raise or return None
      stats = None
    if stats and "bytes_in_use" in stats:
      rows.append({"device": f"{d.platform}:{d.id}", "bytes_in_use": int(stats["bytes_in_use"]),
                   "peak_bytes": int(stats.get("peak_bytes_in_use", stats["bytes_in_use"])),
                   "source": "memory_stats"})
      continue
    live = _live_array_bytes() if live is None else live
    rows.append({"device": f"{d.platform}:{d.id}", "bytes_in_use": live.get(d, 0),
                 "peak_bytes": None, "source": "live_arrays"})
  return rows


class StageMeter:
  """Measures one stage from its construction to `finish()`."""

  def __init__(self):
    self.source = "vmhwm" if _reset_peak() else "ru_maxrss"

  def finish(self) -> dict:
    if self.source == "vmhwm":
      peak = _status_bytes("VmHWM") or _ru_maxrss_bytes()
    else:
      peak = _ru_maxrss_bytes()
    end = _status_bytes("VmRSS") or peak
    return {"host_peak_rss_bytes": int(max(peak, end)), "host_end_rss_bytes": int(end),
            "host_peak_source": self.source, "devices": device_rows()}


def summary_memory(stage_records: dict[str, dict]) -> dict[str, dict]:
  """{stage: memory record} for the stages (in run order) whose records carry one."""
  return {name: rec["memory"] for name, rec in stage_records.items()
          if isinstance(rec, dict) and rec.get("memory")}


def metric_rows(memory: dict[str, dict]) -> list[dict]:
  """metrics.jsonl rows: one per stage, host bytes and the largest device's bytes."""
  rows = []
  for stage, m in memory.items():
    dev = m.get("devices") or []
    rows.append({"stage": stage, "host_peak_rss_bytes": m["host_peak_rss_bytes"],
                 "host_end_rss_bytes": m["host_end_rss_bytes"],
                 "device_bytes_in_use_max": max((r["bytes_in_use"] for r in dev), default=0),
                 "device_peak_bytes_max": max((r["peak_bytes"] for r in dev
                                               if r["peak_bytes"] is not None), default=None)})
  return rows


def _fail(path: str, msg: str):
  raise ValueError(f"{path}: {msg}")


def _nonneg_int(path: str, v: Any) -> None:
  if not isinstance(v, int) or isinstance(v, bool) or v < 0:
    _fail(path, f"expected a non-negative int (bytes), got {v!r}")


def check(path: str, memory: Any) -> None:
  """Validates summary['memory'] ({stage: record}); raises ValueError naming the key path."""
  if not isinstance(memory, dict):
    _fail(path, f"expected a dict of stage -> memory record, got {type(memory).__name__}")
  for stage, m in memory.items():
    p = f"{path}[{stage!r}]"
    if not isinstance(m, dict):
      _fail(p, f"expected a dict, got {type(m).__name__}")
    for key in ("host_peak_rss_bytes", "host_end_rss_bytes"):
      if key not in m:
        _fail(f"{p}[{key!r}]", "missing required key")
      _nonneg_int(f"{p}[{key!r}]", m[key])
    if m.get("host_peak_source") not in SOURCES:
      _fail(f"{p}['host_peak_source']", f"expected one of {SOURCES}, got "
            f"{m.get('host_peak_source')!r}")
    if m["host_peak_rss_bytes"] < m["host_end_rss_bytes"]:
      _fail(p, "host_peak_rss_bytes is below host_end_rss_bytes")
    for i, row in enumerate(m.get("devices") or []):
      rp = f"{p}['devices'][{i}]"
      if not isinstance(row, dict) or row.get("source") not in DEVICE_SOURCES:
        _fail(rp, f"expected a dict with source in {DEVICE_SOURCES}, got {row!r}")
      _nonneg_int(f"{rp}['bytes_in_use']", row.get("bytes_in_use"))
      if row.get("peak_bytes") is not None:
        _nonneg_int(f"{rp}['peak_bytes']", row["peak_bytes"])
