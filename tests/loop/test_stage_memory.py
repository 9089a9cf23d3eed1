"""Memory accounted per stage (restem_jax.loop.stage_memory) and its hook in Run.stage."""

import copy
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.loop import manifest, stage_memory
from restem_jax.loop.reporting import report_sections
from restem_jax.loop.reporting.summary_schema import validate_summary
from restem_jax.loop.run_setup import Run

MB = 1 << 20
LINUX = sys.platform.startswith("linux") and os.path.exists("/proc/self/clear_refs")


class _FakeRun:
  """What Run.stage touches: a manifest."""

  def __init__(self, workdir):
    self.manifest = manifest.Manifest(str(workdir), {"seed": 0})


def _touch(nbytes: int) -> np.ndarray:
  a = np.ones(nbytes // 8, np.float64)  # ones: every page written, so resident
  return a


def test_run_stage_records_memory_and_a_200mb_stage_peaks_200mb_higher(tmp_path):
  run = _FakeRun(tmp_path)
  first, _ = Run.stage(run, "base", lambda: ({"x": 1}, None))
  mem = first["memory"]
  assert mem["host_peak_rss_bytes"] >= mem["host_end_rss_bytes"] > 0
  assert mem["host_peak_source"] == ("vmhwm" if LINUX else "ru_maxrss")
  assert {r["device"] for r in mem["devices"]} == {
      f"{d.platform}:{d.id}" for d in jax.local_devices()}

  def allocate():
    a = _touch(200 * MB)
    assert a.sum() > 0
    del a
    return {}, None

  second = Run.stage(run, "sft", allocate)[0]["memory"]
  # >= 180 MB, not 200: the process may hand a few pages back between the two stages.
  assert second["host_peak_rss_bytes"] >= mem["host_end_rss_bytes"] + 180 * MB
  if LINUX:  # the freed array leaves the resident set; the stage's peak keeps it
    assert second["host_end_rss_bytes"] < second["host_peak_rss_bytes"] - 150 * MB
  # Recorded in the manifest, read back for the summary in run order.
  assert list(stage_memory.summary_memory(run.manifest.records())) == ["base", "sft"]
  assert Run.stage(run, "sft", lambda: pytest.fail("re-ran"))[0]["memory"] == second


@pytest.mark.skipif(not LINUX, reason="VmHWM reset is Linux-only")
def test_peak_is_the_stages_own_not_the_process_peak():
  a = _touch(300 * MB)
  spike = stage_memory._status_bytes("VmHWM")
  del a
  rec = stage_memory.StageMeter().finish()
  assert rec["host_peak_source"] == "vmhwm"
  # The 300 MB spike happened before the stage: the reset mark does not include it.
  assert rec["host_peak_rss_bytes"] < spike - 200 * MB


def test_without_the_reset_the_peak_is_ru_maxrss(monkeypatch, tmp_path):
  monkeypatch.setattr(stage_memory, "_CLEAR_REFS", str(tmp_path / "no" / "clear_refs"))
  rec = stage_memory.StageMeter().finish()
  assert rec["host_peak_source"] == "ru_maxrss"
  assert rec["host_peak_rss_bytes"] >= stage_memory._ru_maxrss_bytes() - MB
  assert rec["host_peak_rss_bytes"] >= rec["host_end_rss_bytes"] > 0


def test_cpu_devices_count_live_array_bytes():
  dev = jax.local_devices()[0]
  before = {r["device"]: r for r in stage_memory.device_rows()}
  x = jax.device_put(jnp.ones((16 * MB // 4,), jnp.float32), dev)
  after = {r["device"]: r for r in stage_memory.device_rows()}
  key = f"{dev.platform}:{dev.id}"
  if after[key]["source"] == "live_arrays":
    assert after[key]["peak_bytes"] is None
  assert after[key]["bytes_in_use"] - before[key]["bytes_in_use"] >= 16 * MB
  del x


def _summary_with(memory):
  return {"task": "t", "mode": "restem", "seed": 0, "wall_seconds": 1.0,
          "base": {"test_pass1": 0.1, "train_pass1": 0.2}, "iterations": [],
          "best_iteration": 0, "memory": memory}


def test_schema_accepts_records_and_rejects_a_peak_below_the_end():
  rec = stage_memory.StageMeter().finish()
  validate_summary(_summary_with({"base_eval": rec}))
  bad = copy.deepcopy(rec)
  bad["host_peak_rss_bytes"] = bad["host_end_rss_bytes"] - 1
  with pytest.raises(ValueError, match=r"\['memory'\]\['base_eval'\].*below"):
    validate_summary(_summary_with({"base_eval": bad}))
  bad = copy.deepcopy(rec)
  bad.pop("host_end_rss_bytes")
  with pytest.raises(ValueError, match=r"\['host_end_rss_bytes'\]: missing"):
    validate_summary(_summary_with({"sft": bad}))
  bad = copy.deepcopy(rec)
  bad["devices"] = [{"device": "cpu:0", "bytes_in_use": -5, "source": "live_arrays"}]
  with pytest.raises(ValueError, match=r"\['devices'\]\[0\]\['bytes_in_use'\]"):
    validate_summary(_summary_with({"sft": bad}))


def test_report_table_and_metric_rows():
  mem = {"sft": {"host_peak_rss_bytes": 3_000_000_000, "host_end_rss_bytes": 2_000_000_000,
                 "host_peak_source": "vmhwm",
                 "devices": [{"device": "gpu:0", "bytes_in_use": 10, "peak_bytes": 5_000_000_000,
                              "source": "memory_stats"}]}}
  lines = report_sections.memory({"memory": mem})
  assert lines[0] == "## Memory per stage"
  assert "| sft | 3.00 | 2.00 | vmhwm | 0.00 | 5.00 | memory_stats |" in lines
  assert report_sections.memory({}) == []
  (row,) = stage_memory.metric_rows(mem)
  assert row == {"stage": "sft", "host_peak_rss_bytes": 3_000_000_000,
                 "host_end_rss_bytes": 2_000_000_000, "device_bytes_in_use_max": 10,
                 "device_peak_bytes_max": 5_000_000_000}


def test_devices_with_allocator_statistics_report_them(monkeypatch):
  class _Gpu:
    platform, id = "gpu", 3

    def memory_stats(self):
      return {"bytes_in_use": 7 * MB, "peak_bytes_in_use": 9 * MB}

  monkeypatch.setattr(jax, "local_devices", lambda: [_Gpu()])
  assert stage_memory.device_rows() == [{"device": "gpu:3", "bytes_in_use": 7 * MB,
                                         "peak_bytes": 9 * MB, "source": "memory_stats"}]
