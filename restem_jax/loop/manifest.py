"""The run manifest: which stages finished, and what they produced.

`W/manifest.json` holds the run's config and one record per finished stage
(`base_eval`, `sft`, `iter_1/estep`, `iter_1/mstep`, `iter_1/eval`, ...). Each record
is everything the summary needs from that stage, so a rerun of the same command
skips finished stages and rebuilds an identical summary. The file is rewritten
atomically after every stage, so a kill at any moment leaves the previous
version intact. Work inside a stage is protected by the stage itself (E-step
chunks); an interrupted M-step or evaluation is redone from its start, which is
deterministic.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from restem_jax import io
from restem_jax.distributed import hosts

# Fields that may differ between the first run and a resumed one: they change how
# fast, not what is computed. Not here, because they change results:
# verifier.timeout_s / verifier.cpu_time_s decide which slow samples count as correct
# (so what the E-step keeps), and sampler.prompts_per_batch changes the batch shapes
# the decode loop is compiled for, hence float rounding in the logits, hence the
# sampled tokens at T=1 (keys are per row, but the numbers they meet are not).
RESUMABLE_CHANGES = ("loop.num_iterations", "verifier.num_workers", "jax_distributed")


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
  if not isinstance(d, dict):
    return {prefix: d}
  out = {}
  for k, v in d.items():
    out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
  return out


def config_json(config) -> dict:
  """A JSON-comparable view of a RunConfig (tuples become lists): for an unchanged card the
  same dict the card's ConfigDict gave, plus the schema fields the card did not set."""
  return json.loads(json.dumps(dataclasses.asdict(config), default=str))


class Manifest:
  """Finished-stage records of one run directory."""

  def __init__(self, workdir: str, config: dict, defaults: dict | None = None):
    """`defaults`: the config_json of the schema's defaults. A field a resumed run's stored
    config lacks (recorded before the field existed) counts as unchanged at its default."""
    self.path = io.join(workdir, "manifest.json")
    self._defaults = _flatten(defaults or {})
    self._data = {"config": config, "stages": {}, "elapsed_seconds": 0.0}
    if io.exists(self.path):
      try:
        stored = io.read_json(self.path)
        if not isinstance(stored, dict) or not {"stages", "config"} <= stored.keys():
          raise ValueError("missing 'stages' or 'config'")
      except (OSError, ValueError) as e:
        raise ValueError(f"run manifest {self.path} is unreadable ({e}); move it away to start "
                         "this run over.") from e
      self._check_same_run(stored["config"], config)
      stored["config"] = config
      self._data = stored

  def _check_same_run(self, old: dict, new: dict) -> None:
    old_f, new_f = _flatten(old), _flatten(new)
    old_f.update({k: self._defaults[k] for k in set(new_f) - set(old_f) if k in self._defaults})
    changed = sorted(k for k in set(old_f) | set(new_f)
                     if old_f.get(k) != new_f.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
      diffs = ", ".join(f"{k}: {old_f.get(k)!r} -> {new_f.get(k)!r}" for k in changed[:8])
      raise ValueError(f"{self.path} belongs to a run with a different config ({diffs}). "
                       "Use a new --workdir, or rerun with the original settings to resume.")

  def done(self, stage: str) -> bool:
    return stage in self._data["stages"]

  def get(self, stage: str) -> dict:
    return self._data["stages"][stage]

  def records(self) -> dict[str, dict]:
    """{stage: record} of the finished stages, in the order they finished."""
    return dict(self._data["stages"])

  @property
  def elapsed_seconds(self) -> float:
    """Wall time spent in finished stages, summed over every process of this run."""
    return float(self._data["elapsed_seconds"])

  def mark(self, stage: str, record: dict, seconds: float) -> None:
    """Records a finished stage (atomically) and the wall time it took."""
    self._data["stages"][stage] = record
    self._data["elapsed_seconds"] += seconds
    if hosts.is_writer():  # every process keeps the same records; process 0 writes them
      io.write_json_atomic(self.path, self._data)
