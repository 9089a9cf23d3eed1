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
"""

from __future__ import annotations

import collections
import json
import time
from typing import Callable

import numpy as np
import tqdm
from absl import logging

from restem_jax import io
from restem_jax import run_config
from restem_jax import vocab as vocab_lib
from restem_jax.checkpoint import model_checkpoint
from restem_jax.config import model_section
from restem_jax.config import schema
from restem_jax.convert import base_import
from restem_jax.distributed import hosts
from restem_jax.loop import base_model, estep, evaluate, greedy_eval, manifest, metrics
from restem_jax.loop import buckets, gold_check, length_check, mstep, preflight, report
from restem_jax.loop import sandbox_policy, task_setup
from restem_jax.loop import tensorboard
from restem_jax.loop import distill_reuse, eval_only, transfer, tuning_policy
from restem_jax.sampling.sampler import Sampler
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.tasks import completion, registry, subsample
from restem_jax.tasks.spec import TaskSpec
from restem_jax.training.packing import Example
from restem_jax.verify.pool import VerifierPool
from restem_jax.verify.sandbox_config import SandboxConfig

# Per-problem evaluation details kept in the manifest but not in summary.json.
_EVAL_PRIVATE = ("test_correct", "test_success_rate", "bucket_success_rate")


def _progress(desc: str, total: int):
  """A tqdm bar (shown on terminals) as a `progress(n)` callback, plus its closer."""
  bar = tqdm.tqdm(total=total, desc=desc, leave=False, disable=None, dynamic_ncols=True)
  return (lambda n=1: bar.update(n)), bar.close


class Run:
  """One run directory: the config, the manifest and the models it needs."""

  def __init__(self, c, workdir: str, task: TaskSpec | None = None):
    self.c, self.workdir = c, workdir
    self.task = task or task_setup.prepare(c)  # the registered spec whose problems run
    io.makedirs(workdir)
    self.loop = run_config.loop_config(c)
    self.model_cfg = run_config.model_config(c)  # config.model merged with the checkpoint's
    length_check.check_config(c, self.model_cfg)
    self.estep_cfg = run_config.estep_config(c)
    self.mstep_cfg, self.train_cfg = run_config.mstep_config(c)
    self.eval_cfg = run_config.eval_config(c)
    self.sampling = run_config.sampling_params(c)
    self.manifest = manifest.Manifest(workdir, manifest.config_json(c),
                                      defaults=manifest.config_json(schema.defaults_for(c)))
    self.vocab = run_config.vocabulary(c)
    self.task = task_setup.with_chat_prompts(c, self.task)  # task.chat: the checkpoint's template
    if self.model_cfg.vocab_size < self.vocab.vocab_size:
      raise ValueError(f"config.model.vocab_size={self.model_cfg.vocab_size} is smaller than the "
                       f"vocabulary ({self.vocab.vocab_size}).")
    run_config.check_model_context(self.model_cfg, c, self.train_cfg.seq_len)
    self.mesh = mesh_lib.make_mesh(run_config.mesh_config(c))
    if self.loop.mode != "eval":  # every other mode fine-tunes
      preflight.check_train_rows(self.train_cfg.rows_per_micro,
                                 mesh_lib.data_parallel_size(self.mesh))
    self.rules = run_config.logical_rules(c)
    self.tuner = tuning_policy.for_config(run_config.lora_config(c), c.seed, self.model_cfg,
                                          self.mesh, self.rules)  # full or LoRA M-steps
    self.sampler = Sampler(self.model_cfg, self.vocab, run_config.sampler_config(c), self.mesh,
                           run_config.sampling_rules(c))
    self.problems = {split: self._problems(split, limit) for split, limit in (
        ("train", c.task.train_limit), ("validation", c.task.val_limit),
        ("test", c.task.test_limit))}
    self.skipped_prompts = {}
    for split, problems in self.problems.items():
      self.problems[split], skipped = length_check.split_long_prompts(
          problems, self.sampler, f"task {c.task.name!r} {split} split")
      self.skipped_prompts[split] = len(skipped)
    for split in ("test",) if self.loop.mode == "eval" else ("train", "test"):
      if not self.problems[split]:
        raise ValueError(f"task {c.task.name!r} has no {split} problems "
                         f"(data_dir={c.task.data_dir!r}).")
    self.transfer = transfer.load(transfer.tasks_from_config(c.eval.transfer_tasks),
                                  self.sampler)
    self.notes = preflight.check_validation(c.task.name, self.loop, self.problems["validation"])
    self.runs_sft, sft_notes = preflight.sft_runs(c.task.name, self.loop, self.problems["train"])
    self.notes.update(sft_notes)
    self.history: list[dict] = []

  def _problems(self, split: str, limit: int):
    if self.loop.mode == "eval" and split != "test":
      return []  # eval-only runs read the test split alone
    problems = registry.load_problems(self.task.name, split, self.c.task.data_dir,
                                      self.c.task.seed)
    return subsample.stratified(problems, limit, seed=self.c.task.seed, split=split)

  # ------------------------------------------------------------------ stages

  def stage(self, name: str, fn: Callable[[], dict]) -> dict:
    """`fn()`'s record, computed once: a finished stage is read back from the manifest."""
    if self.manifest.done(name):
      logging.info("stage %s: already done (manifest)", name)
      return self.manifest.get(name)
    logging.info("stage %s: start", name)
    t0 = time.perf_counter()
    record = fn()
    record["seconds"] = time.perf_counter() - t0
    self.manifest.mark(name, record, record["seconds"])
    logging.info("stage %s: done in %.1fs", name, record["seconds"])
    return record

  @property
  def gap_problems(self) -> list:
    """Train problems of the greedy train pass@1 (eval.train_limit of them, stratified)."""
    return subsample.stratified(self.problems["train"], self.eval_cfg.train_limit,
                                seed=self.c.task.seed, split="train_gap")

  def evaluate(self, params, pool, bucket_draws: bool = False) -> dict:
    params = self.sampler.place(params)  # once for all of the evaluation's decodes
    result = evaluate.evaluate(params, self.sampler, pool, self.eval_cfg,
                               test=self.problems["test"], train=self.gap_problems,
                               validation=self.problems["validation"], seed=self.c.seed,
                               bucket_draws=bucket_draws)
    if self.transfer:
      result["transfer"] = transfer.evaluate(params, self.transfer, self.sampler, pool,
                                             self.eval_cfg, seed=self.c.seed)
    return result

  def val_reward_fn(self, pool):
    """The M-step's "reward on D_val": greedy pass@1 on validation (else on train)."""
    problems = self.problems["validation"] or self.problems["train"]
    return lambda params: greedy_eval.greedy_pass1(params, problems, self.sampler, pool,
                                                   self.c.seed)["pass1"]

  def fine_tune(self, name: str, init_params, examples, pool, tuning=None,
                base_checkpoint: str = "") -> tuple[object, dict]:
    """Runs an M-step; returns (params, record) and saves it under W/name (`self.tuner`:
    the whole model, or LoRA adapters pointing at `base_checkpoint`)."""
    path = io.join(self.workdir, name)
    advance, close = _progress(f"{name} M-step", self.mstep_cfg.max_steps)
    try:
      result = mstep.run_mstep(self.model_cfg, self.train_cfg, self.mstep_cfg, self.mesh,
                               self.rules, init_params, examples, self.val_reward_fn(pool),
                               progress=lambda _: advance(), tuning=tuning)
    finally:
      close()
    if hosts.is_writer():
      io.rmtree(path)  # left by an interrupted run of this stage: not in the manifest
    hosts.barrier("fine_tune_clean")  # then every process saves its shards (Orbax collective)
    self.tuner.save(path, result, self.model_cfg, base_checkpoint=base_checkpoint,
                    tokenizer_dir=self.tokenizer_source,
                    meta={"best_step": result.best_step, "val_reward": result.best_val_reward})
    keep = ("step", "loss", "grad_norm", "learning_rate", "tokens_per_second", "target_tokens")
    record = {"checkpoint": path, "best_step": result.best_step,
              "val_reward": result.best_val_reward, "val_curve": result.val_curve,
              "trained_tokens": result.trained_tokens, "examples": len(examples),
              "kept_init": result.kept_init, "dropped_overlong": result.dropped_overlong,
              "history": [{k: h[k] for k in keep if k in h} for h in result.history]}
    return result.params, record

  def restore(self, path: str, model_cfg=None):
    params, _ = model_checkpoint.restore(path, model_cfg or self.model_cfg, self.mesh, self.rules)
    return params

  @property
  def tokenizer_source(self) -> str | None:
    """Tokenizer files every saved checkpoint carries, as run_config.vocabulary chooses them:
    task.vocab, else the base checkpoint's (a .gguf vocabulary is not copied)."""
    base, vocab = self.c.base.checkpoint, self.c.task.vocab
    if vocab:
      return None if vocab.endswith(".gguf") else vocab
    return model_checkpoint.tokenizer_dir(base) if base else None

  def sft_examples(self) -> list[Example]:
    """One reference solution per train problem: (prompt ids as the sampler encodes them,
    the solution's ids as a continuation of the prompt (no BOS) + the task's end of a sample:
    EOS, or a chat template's end-of-turn)."""
    out = []
    for p in self.problems["train"]:
      if p.reference_solution:
        prompt = self.sampler.encode_problem(p)
        target = vocab_lib.encode_target(self.sampler.vocab, p.prompt, prompt,
                                         p.reference_solution)
        target += completion.end_of_sample_ids(self.sampler.vocab, p.verifier_task)
        out.append(Example(prompt, np.asarray(target, np.int32), 1.0))
    if not out:
      raise ValueError(f"task {self.c.task.name!r}: no train problem has a reference solution, "
                       "so the SFT baseline cannot run (set config.loop.sft_baseline=False).")
    return out

  def teacher(self):
    """(sampler, params, checkpoint) of the distillation teacher."""
    t = self.c.teacher
    if not t.checkpoint:
      raise ValueError("loop.mode='distill' needs config.teacher.checkpoint (an Orbax params "
                       "dir of the teacher model, e.g. a finished run's W/iter_3/policy).")
    cfg = model_checkpoint.model_config_for(model_section.values(t.model), t.checkpoint,
                                            section="teacher.model")
    run_config.check_model_context(cfg, self.c)
    sampler = Sampler(cfg, self.vocab, run_config.sampler_config(self.c), self.mesh,
                      run_config.sampling_rules(self.c))
    return sampler, self.restore(t.checkpoint, cfg), t.checkpoint

  # ---------------------------------------------------------------- iteration

  def estep_chunks(self, policy, train, sampler, pool, out_dir, i, policy_path, progress=None):
    """The E-step's chunk records: sampled (resumable), or reused (distill_reuse.py)."""
    t = self.c.teacher
    if self.loop.mode == "distill" and t.estep_dir:
      return distill_reuse.load(t.estep_dir, train, sampler.encode_problem, t.min_correct)
    chunks = estep.run_estep(policy, train, sampler, self.sampling, pool, self.estep_cfg,
                             out_dir, seed=self.c.seed, iteration=i, policy=policy_path,
                             progress=progress)
    return distill_reuse.filter_min_correct(chunks, t.min_correct) if (
        self.loop.mode == "distill") else chunks

  def run_iteration(self, i: int, policy, policy_path: str, sampler, base_params, prev_params,
                    pool) -> tuple[dict, object, str]:
    """One E-step / M-step / evaluation; returns (record, new policy params, its path)."""
    out_dir = io.join(self.workdir, f"iter_{i}", "estep")
    train = self.problems["train"]
    policy = sampler.place(policy)  # once, not per chunk: training -> sampling layout

    def do_estep():
      advance, close = _progress(f"iter {i} E-step (problems)", len(train))
      try:
        chunks = self.estep_chunks(policy, train, sampler, pool, out_dir, i, policy_path,
                                   progress=advance)
      finally:
        close()
      kept_per, verdicts = {}, collections.Counter()
      for ch in chunks:
        kept_per.update(ch["stats"]["kept_per_problem"])
        verdicts.update(ch["stats"]["verdicts"])
      prompt_tokens = sum(len(sampler.encode_problem(p)) for p in train)
      tokens = prompt_tokens + sum(ch["stats"]["generated_tokens"] for ch in chunks)
      return {"yield": metrics.estep_yield(kept_per, self.estep_cfg.num_samples,
                                           self.estep_cfg.max_per_problem),
              "verdicts": metrics.verdict_counts(list(verdicts.elements())),
              "tokens": tokens, "flops": sampler.model_config.flops_per_token() * tokens,
              "policy": policy_path, "chunks": len(chunks),
              "skipped_long_prompts": estep.skipped_long_prompts(chunks),
              "first_errors": estep.first_errors(chunks),
              "timing": estep.timing_summary(chunks)}

    e = self.stage(f"iter_{i}/estep", do_estep)
    kept = estep.kept_samples(self.estep_chunks(  # all chunks exist: this only reads them
        policy, train, sampler, pool, out_dir, i, policy_path))
    if not kept:
      logging.warning("iteration %d: the E-step kept no correct sample (%s); no M-step.", i,
                      e["verdicts"])
      return {"estep": e, "mstep": None, "eval": None}, policy, policy_path
    init, tuning = self.tuner.start(base_params, prev_params, self.loop.start_from)
    examples = mstep.examples_from_kept(kept)
    name = f"iter_{i}/policy"
    holder = {}

    def do_mstep():
      holder["params"], record = self.fine_tune(name, init, examples, pool, tuning,
                                                self.base_checkpoint)
      return record

    m = self.stage(f"iter_{i}/mstep", do_mstep)
    params = holder["params"] if "params" in holder else self.tuner.restore(
        self, m["checkpoint"], base_params)
    ev = self.stage(f"iter_{i}/eval", lambda: self.evaluate(params, pool))
    return {"estep": e, "mstep": m, "eval": ev}, params, m["checkpoint"]

  def run(self) -> dict:
    c, loop = self.c, self.loop
    checker_keys = {completion.checker_key(p) for ps in self.problems.values() for p in ps}
    sandbox = SandboxConfig(cpu_time_s=c.verifier.cpu_time_s,
                            require_bubblewrap=sandbox_policy.require_bubblewrap(
                                c.verifier.require_bubblewrap, checker_keys),
                            allow_unsandboxed=c.verifier.allow_unsandboxed)
    sandbox_policy.check_code_sandbox(sandbox, checker_keys)
    if loop.mode == "eval":
      with VerifierPool(c.verifier.num_workers, c.verifier.timeout_s, sandbox=sandbox) as pool:
        return eval_only.run_eval(self, pool)
    if c.task.reference_field:  # the checker must accept the human references
      with VerifierPool(c.verifier.num_workers, c.verifier.timeout_s, sandbox=sandbox) as pool:
        gold_check.require_references_pass(self.problems["validation"], pool,
                                           c.verifier.max_gold_failures)
    holder = {}

    def do_base():
      holder["params"], path, meta = base_model.ensure_base(c, self.workdir, self.vocab,
                                                             self.mesh, self.rules)
      return {"checkpoint": path, "meta": meta}

    b = self.stage("base", do_base)
    base_params = holder["params"] if "params" in holder else self.restore(b["checkpoint"])
    self.base_checkpoint = b["checkpoint"]
    with VerifierPool(c.verifier.num_workers, c.verifier.timeout_s, sandbox=sandbox) as pool:
      base_eval = self.stage("base_eval",
                             lambda: self.evaluate(base_params, pool, bucket_draws=True))
      sft = None
      if self.runs_sft:
        def do_sft():
          init, tuning = self.tuner.start(base_params, base_params, "base")
          params, record = self.fine_tune("sft", init, self.sft_examples(), pool, tuning,
                                          self.base_checkpoint)
          record["eval"] = self.evaluate(params, pool)
          return record
        sft = self.stage("sft", do_sft)
      policy, policy_path, sampler = base_params, b["checkpoint"], self.sampler
      if loop.mode == "distill":
        if c.teacher.estep_dir:  # reuse a finished run's E-step: no teacher model
          policy_path = distill_reuse.resolve(c.teacher.estep_dir)
        else:
          sampler, policy, policy_path = self.teacher()
      iterations, prev = [], base_params
      for i in range(1, loop.iterations + 1):
        rec, new_policy, new_path = self.run_iteration(i, policy, policy_path, sampler,
                                                       base_params, prev, pool)
        iterations.append(rec)
        if rec["mstep"] is None and loop.on_empty == "stop":
          break
        prev = new_policy
        if loop.mode != "distill":
          policy, policy_path = new_policy, new_path
    summary = self.summary(b, base_eval, sft, iterations)
    if hosts.is_writer():
      self.write_outputs(summary, sft, iterations)
    hosts.barrier("outputs_written")
    return summary

  # ----------------------------------------------------------------- outputs

  def _compute(self, e: dict, m: dict | None) -> dict:
    per_token = self.model_cfg.flops_per_token()
    m_tokens = int(m["trained_tokens"]) if m else 0
    return {"estep_tokens": int(e["tokens"]), "mstep_tokens": m_tokens,
            "estep_flops": e["flops"], "mstep_flops": 3.0 * per_token * m_tokens}

  @staticmethod
  def _public_eval(ev: dict) -> dict:
    return {k: v for k, v in ev.items() if k not in _EVAL_PRIVATE and k != "seconds"}

  def summary(self, b: dict, base_eval: dict, sft: dict | None, iterations: list[dict]) -> dict:
    its, last_eval = [], base_eval
    for i, rec in enumerate(iterations, start=1):
      e, m, ev = rec["estep"], rec["mstep"], rec["eval"]
      ev_used = ev or last_eval  # no M-step: the policy (and its numbers) did not change
      entry = {"iteration": i, **self._public_eval(ev_used),
               "kept": e["yield"]["kept"], "solved_fraction": e["yield"]["solved_fraction"],
               "cap_saturation": e["yield"]["cap_saturation"], "verdicts": e["verdicts"],
               "timeout_rate": metrics.timeout_rate(e["verdicts"]),
               "first_errors": e.get("first_errors", []),
               "buckets": buckets.figure8(base_eval, ev_used),
               "stage_seconds": {"estep": e["seconds"], "mstep": m["seconds"] if m else 0.0,
                                 "eval": ev["seconds"] if ev else 0.0, **e["timing"]},
               "compute": self._compute(e, m),
               "mstep_best_step": m["best_step"] if m else None,
               "val_reward": m["val_reward"] if m else None,
               "policy": e["policy"], "updated": m is not None,
               "mstep_kept_init": m.get("kept_init") if m else None,
               "mstep_dropped_overlong": m.get("dropped_overlong") if m else None,
               "skipped_long_prompts": e.get("skipped_long_prompts", 0)}
      its.append(entry)
      last_eval = ev_used
    best, best_val = 0, base_eval.get("val_pass1")
    for it in its:  # model selection on validation reward, never on test
      v = it.get("val_pass1")
      if it["updated"] and v is not None and (best_val is None or v > best_val):
        best, best_val = it["iteration"], v
    summary = {"task": self.c.task.name, "mode": self.loop.mode, "seed": self.c.seed,
               "task_seed": self.c.task.seed, "base_checkpoint": b["checkpoint"],
               "base_meta": b["meta"], "base": self._public_eval(base_eval),
               "iterations": its, "best_iteration": best,
               "best_test_pass1": its[best - 1]["test_pass1"] if best else base_eval["test_pass1"],
               "wall_seconds": self.manifest.elapsed_seconds,
               "kept_init": sum(bool(it["mstep_kept_init"]) for it in its),
               "skipped_long_prompts": self.skipped_prompts, "notes": self.notes}
    if sft:
      summary["sft"] = {**self._public_eval(sft["eval"]), "val_reward": sft["val_reward"],
                        "mstep_best_step": sft["best_step"], "seconds": sft["seconds"],
                        "mstep_kept_init": sft.get("kept_init")}
    report.validate_summary(summary)
    return summary

  def write_outputs(self, summary: dict, sft: dict | None, iterations: list[dict]) -> None:
    rows = []
    for name, m in [("sft", sft)] + [(f"iter_{i}", r["mstep"]) for i, r in
                                     enumerate(iterations, 1)]:
      if not m:
        continue
      itn = 0 if name == "sft" else int(name.split("_")[1])
      rows += [{"iteration": itn, "run": name, **h} for h in m["history"]]
      rows += [{"iteration": itn, "run": name, "step": s, "val_reward": r}
               for s, r in m["val_curve"]]
    evals = [{"iteration": 0, "run": "base", **_scalars(summary["base"])}]
    evals += [{"iteration": it["iteration"], "run": f"iter_{it['iteration']}",
               **_scalars(it)} for it in summary["iterations"]]
    io.write_text_atomic(io.join(self.workdir, "metrics.jsonl"),
                         "".join(json.dumps(row) + "\n" for row in rows + evals))
    tensorboard.write_scalars(io.join(self.workdir, "tb"), evals, rows)
    io.write_json_atomic(io.join(self.workdir, "summary.json"), summary, indent=2)
    mstep_rows = [r for r in rows if r["run"] != "sft" and "loss" in r]
    report.write_report(self.workdir, summary, mstep_rows)


def _scalars(d: dict) -> dict:
  """Flat numeric view of an evaluation record (pass@k and maj@k expanded)."""
  out = {}
  for k, v in d.items():
    if isinstance(v, (int, float)) and not isinstance(v, bool):
      out[k] = v
    elif k in ("test_pass_at_k", "test_maj_at_k") and v:
      out.update({f"{k[5:]}_{kk}": vv for kk, vv in v.items()})
    elif k == "transfer":
      out.update(transfer.scalars(v))
  return out


def run(c: schema.RunConfig, workdir: str) -> dict:
  """Runs (or resumes) the configured job in `workdir`; returns the summary dict."""
  t0 = time.perf_counter()
  task = task_setup.prepare(c)  # a bad task file, row or checker fails before model work
  c = base_import.ensure_imported(c, workdir)  # before the Run reads the base's config/tokenizer
  summary = Run(c, workdir, task).run()
  logging.info("run finished: %.0fs in this process, %.0fs of stages in all",
               time.perf_counter() - t0, summary["wall_seconds"])
  if summary["mode"] == "eval":
    print("\n".join(f"{r['checkpoint']}: test pass@1 {r['test_pass1']:.3f}"
                    for r in summary["checkpoints"]))
    return summary
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
  return summary
