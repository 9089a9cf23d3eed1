"""`loop.mode='eval'`: evaluate finished checkpoints on the task and the transfer tasks.

  --config.loop.mode=eval --config.loop.checkpoints='("W/iter_2/policy", "IMPORTED")'

Each checkpoint (an Orbax params dir of the configured model: a finished run's
`W/iter_i/policy`, `W/sft`, `W/base`, or an imported model; or a LoRA run's adapter dir,
evaluated as its base with the adapters merged in, `checkpoint.merged_adapter`) is one
resumable stage `eval/<i>`, evaluated by the training runs' evaluation path
(evaluation/policy_eval.py) on the test split alone: greedy pass@1 and per-difficulty accuracy, pass@k and maj@k
from `eval.num_samples` samples, and every `eval.transfer_tasks` entry. Only the test
split is read, so a test-only task works. The summary lists the checkpoints
(`summary['checkpoints']`); the training runs' output writer (reporting/outputs.py)
writes it with metrics.jsonl, TensorBoard (step = checkpoint index) and report.md
(reporting/report_eval.py).
"""

from __future__ import annotations

from restem_jax.checkpoint import adapter_checkpoint, merged_adapter
from restem_jax.distributed import hosts
from restem_jax.loop import stage_memory
from restem_jax.loop.evaluation import policy_eval, transfer
from restem_jax.loop.reporting import outputs

# The evaluation numbers an eval-only summary lists per checkpoint (test split only).
_PUBLIC = ("test_pass1", "per_difficulty", "test_verdicts", "test_pass_at_k", "test_maj_at_k",
           "transfer")


def _restore(run, path: str):
  """A checkpoint's params; a LoRA run's adapter dir: its base with the adapters merged in."""
  if adapter_checkpoint.is_adapter_checkpoint(path):
    return merged_adapter.restore(path, run.model_cfg, run.mesh, run.rules)[0]
  return run.restore(path)


def run_eval(run, pool) -> dict:
  """Evaluates every `loop.checkpoints` entry; writes summary, metrics, TensorBoard, report."""
  rows = []
  for i, path in enumerate(run.loop.checkpoints):
    rec, _ = run.stage(f"eval/{i}", lambda path=path: (
        policy_eval.evaluate_policy(run, _restore(run, path), pool), None))
    rows.append({"index": i, "checkpoint": path,
                 **{k: rec[k] for k in _PUBLIC if rec.get(k) is not None}})
  summary = {"task": run.c.task.name, "mode": "eval", "seed": run.c.seed,
             "task_seed": run.c.task.seed, "wall_seconds": run.manifest.elapsed_seconds,
             "checkpoints": rows, "skipped_long_prompts": run.skipped_prompts,
             "notes": run.notes,
             "memory": stage_memory.summary_memory(run.manifest.records())}
  if hosts.is_writer():
    evals = [{"iteration": r["index"], "run": r["checkpoint"], **_scalars(r)} for r in rows]
    outputs.write_outputs(run.workdir, outputs.RunOutputs(summary=summary, evals=evals,
                                                          curves=[], report_history=[]))
  hosts.barrier("outputs_written")
  return summary


def _scalars(row: dict) -> dict:
  out = {"test_pass1": row["test_pass1"], **transfer.scalars(row.get("transfer"))}
  for key in ("test_pass_at_k", "test_maj_at_k"):
    out.update({f"{key[5:]}_{k}": v for k, v in (row.get(key) or {}).items()})
  return out
