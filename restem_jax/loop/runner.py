"""Runs Algorithm 1 end to end: base -> [E-step -> M-step -> evaluation] x I -> report.

Stages and their outputs (W = workdir):

  base              W/base (Orbax params; the toy base is pretrained once)
  base_eval         greedy pass@1 test/train/validation, pass@k and maj@k on test
  sft               the base fine-tuned on one reference solution per train problem
  iter_i/estep      W/iter_i/estep/chunk_*.json: kept samples with provenance
  iter_i/mstep      W/iter_i/policy (Orbax params of the best validation step)
  iter_i/eval       as base_eval
  (end)             W/summary.json, W/metrics.jsonl, W/tb/ (TensorBoard), W/report.md

Every finished stage is recorded in W/manifest.json; rerunning the same command
continues after the last finished stage (see manifest.py).

Where each part lives (loop/ is split by stage):

  loop/run_setup.py    the run's setup (configs, problems, models) and `Run.stage`
  loop/estep/          the E-step: sampling + verification in chunks (generate.py), the
                       stage (stage.py), reusing a finished run's E-step (distill_reuse.py)
  loop/mstep*.py       the M-step (mstep.py) and its stage (mstep_stage.py)
  loop/evaluation/     the one evaluation path (policy_eval.py), also used by eval-only
                       runs (loop/eval_only.py)
  loop/reporting/      the summary (training_summary.py) and the one output writer
                       (outputs.py: metrics.jsonl, TensorBoard, summary.json, report.md)
  loop/runner.py       this module: the iteration driver
"""

from __future__ import annotations

import time

from absl import logging

from restem_jax import io
from restem_jax.config import schema
from restem_jax.convert import base_import
from restem_jax.distributed import hosts
from restem_jax.loop import base_model, eval_only, gold_check, mstep, mstep_stage
from restem_jax.loop import sandbox_policy, task_setup
from restem_jax.loop.estep import distill_reuse, stage as estep_stage
from restem_jax.loop.evaluation import policy_eval
from restem_jax.loop.reporting import outputs, training_summary
from restem_jax.loop.run_setup import Run
from restem_jax.tasks import completion
from restem_jax.verify.pool import VerifierPool
from restem_jax.verify.sandbox_config import SandboxConfig


def run_iteration(run: Run, i: int, policy, policy_path: str, sampler, base, prev_params,
                  pool) -> tuple[dict, object, str]:
  """One E-step / M-step / evaluation; returns (record, new policy params, its path).

  `base` is (params, checkpoint) of the base model every M-step restarts from (or
  continues, `loop.start_from`, from `prev_params`)."""
  base_params, base_checkpoint = base
  # Once, not per chunk: training -> sampling layout and dtype (sampler.params_dtype). The
  # policy handed on (no M-step below) stays the caller's: fp32 masters are never rounded.
  placed = sampler.place(policy)
  e, kept = estep_stage.run_stage(run, i, placed, policy_path, sampler, pool)
  if not kept:
    logging.warning("iteration %d: the E-step kept no correct sample (%s); no M-step.", i,
                    e["verdicts"])
    return {"estep": e, "mstep": None, "eval": None}, policy, policy_path
  init, tuning = run.tuner.start(base_params, prev_params, run.loop.start_from)
  examples = mstep.examples_from_kept(kept)
  m, params = run.stage(
      f"iter_{i}/mstep",
      lambda: mstep_stage.fine_tune(run, f"iter_{i}/policy", init, examples, pool, tuning,
                                    base_checkpoint),
      lambda rec: run.tuner.restore(run, rec["checkpoint"], base_params))
  ev, _ = run.stage(f"iter_{i}/eval", lambda: (policy_eval.evaluate_policy(run, params, pool),
                                               None))
  return {"estep": e, "mstep": m, "eval": ev}, params, m["checkpoint"]


def _sft(run: Run, base_params, base_checkpoint: str, pool) -> dict:
  """The SFT baseline's record (its M-step and its evaluation)."""
  def compute():
    init, tuning = run.tuner.start(base_params, base_params, "base")
    record, params = mstep_stage.fine_tune(run, "sft", init, mstep_stage.sft_examples(run),
                                           pool, tuning, base_checkpoint)
    record["eval"] = policy_eval.evaluate_policy(run, params, pool)
    return record, None
  return run.stage("sft", compute)[0]


def _first_policy(run: Run, base_params, base_checkpoint: str):
  """(sampler, params, checkpoint) the first E-step samples with: the base, or in distill
  mode the teacher (none when a finished run's E-step is reused)."""
  if run.loop.mode == "distill":
    if run.c.teacher.estep_dir:  # reuse a finished run's E-step: no teacher model
      return run.sampler, base_params, distill_reuse.resolve(run.c.teacher.estep_dir)
    return run.teacher()
  return run.sampler, base_params, base_checkpoint


def _iterations(run: Run, base_params, base_checkpoint: str, pool) -> list[dict]:
  """The ReST-EM iterations' records ({"estep", "mstep", "eval"} each)."""
  sampler, policy, policy_path = _first_policy(run, base_params, base_checkpoint)
  iterations, prev = [], base_params
  for i in range(1, run.loop.iterations + 1):
    rec, new_policy, new_path = run_iteration(run, i, policy, policy_path, sampler,
                                              (base_params, base_checkpoint), prev, pool)
    iterations.append(rec)
    if rec["mstep"] is None and run.loop.on_empty == "stop":
      break
    prev = new_policy
    if run.loop.mode != "distill":
      policy, policy_path = new_policy, new_path
  return iterations


def _sandbox(run: Run) -> SandboxConfig:
  """The verifier sandbox the run's checkers need (checked before any model work)."""
  c = run.c
  checker_keys = {completion.checker_key(p) for ps in run.problems.values() for p in ps}
  sandbox = SandboxConfig(cpu_time_s=c.verifier.cpu_time_s,
                          require_bubblewrap=sandbox_policy.require_bubblewrap(
                              c.verifier.require_bubblewrap, checker_keys),
                          allow_unsandboxed=c.verifier.allow_unsandboxed)
  sandbox_policy.check_code_sandbox(sandbox, checker_keys)
  return sandbox


def run_stages(run: Run) -> dict:
  """Runs (or resumes) every stage of `run` (training, or eval-only: eval_only.py), writes
  the outputs and returns the summary."""
  c = run.c
  sandbox = _sandbox(run)
  pool = lambda: VerifierPool(c.verifier.num_workers, c.verifier.timeout_s, sandbox=sandbox)
  if run.loop.mode == "eval":
    with pool() as p:
      return eval_only.run_eval(run, p)
  if c.task.reference_field:  # the checker must accept the human references
    with pool() as p:
      gold_check.require_references_pass(run.problems["validation"], p,
                                         c.verifier.max_gold_failures)

  def compute_base():
    params, path, meta = base_model.ensure_base(c, run.workdir, run.vocab, run.mesh, run.rules)
    return {"checkpoint": path, "meta": meta}, params

  b, base_params = run.stage("base", compute_base, lambda rec: run.restore(rec["checkpoint"]))
  with pool() as p:
    base_eval, _ = run.stage("base_eval", lambda: (policy_eval.evaluate_policy(
        run, base_params, p, bucket_draws=True), None))
    sft = _sft(run, base_params, b["checkpoint"], p) if run.runs_sft else None
    iterations = _iterations(run, base_params, b["checkpoint"], p)
  summary = training_summary.summary(run, b, base_eval, sft, iterations)
  if hosts.is_writer():
    outputs.write_outputs(run.workdir, training_summary.outputs(summary, sft, iterations))
  hosts.barrier("outputs_written")
  return summary


def _print_results(summary: dict, workdir: str) -> None:
  if summary["mode"] == "eval":
    print("\n".join(f"{r['checkpoint']}: test pass@1 {r['test_pass1']:.3f}"
                    for r in summary["checkpoints"]))
    return
  b = summary["base"]
  lines = [f"base: test pass@1 {b['test_pass1']:.3f} train {b['train_pass1']:.3f}"]
  if summary.get("sft"):
    lines.append(f"sft:  test pass@1 {summary['sft']['test_pass1']:.3f} "
                 f"train {summary['sft']['train_pass1']:.3f}")
  for it in summary["iterations"]:
    lines.append(f"iter {it['iteration']}: test pass@1 {it['test_pass1']:.3f} "
                 f"train {it['train_pass1']:.3f} kept {it['kept']} "
                 f"solved {it['solved_fraction']:.2f}")
  lines.append(f"best iteration (by validation reward): {summary['best_iteration']}, "
               f"test pass@1 {summary['best_test_pass1']:.3f}; "
               f"report: {io.join(workdir, 'report.md')}")
  print("\n".join(lines))


def run(c: schema.RunConfig, workdir: str) -> dict:
  """Runs (or resumes) the configured job in `workdir`; returns the summary dict."""
  t0 = time.perf_counter()
  task = task_setup.prepare(c)  # a bad task file, row or checker fails before model work
  c = base_import.ensure_imported(c, workdir)  # before the Run reads the base's config/tokenizer
  summary = run_stages(Run(c, workdir, task))
  logging.info("run finished: %.0fs in this process, %.0fs of stages in all",
               time.perf_counter() - t0, summary["wall_seconds"])
  _print_results(summary, workdir)
  return summary
