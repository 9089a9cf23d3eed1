"""The run's setup: config -> typed stage configs, problems, models; the stage runner.

`Run` holds what every stage of one run directory needs (the typed configs, the
mesh, the sampler, the train/validation/test problems, the transfer sets, the
manifest) and runs stages through `stage()`, the one place a stage's record is
computed once and cached in W/manifest.json. The stages themselves live in
estep/stage.py, mstep_stage.py and evaluation/policy_eval.py; runner.py drives
them.
"""

from __future__ import annotations

import time
from typing import Callable

from absl import logging

from restem_jax import io
from restem_jax import run_config
from restem_jax.checkpoint import model_checkpoint
from restem_jax.config import model_section, schema
from restem_jax.loop import length_check, manifest, preflight, stage_memory, task_setup
from restem_jax.loop import tuning_policy
from restem_jax.loop.evaluation import greedy_eval, transfer
from restem_jax.sampling.sampler import Sampler
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.tasks import registry, subsample
from restem_jax.tasks.spec import TaskSpec


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
    self._load_problems()
    self.transfer = transfer.load(transfer.tasks_from_config(c.eval.transfer_tasks),
                                  self.sampler)
    self.notes = preflight.check_validation(c.task.name, self.loop, self.problems["validation"])
    self.runs_sft, sft_notes = preflight.sft_runs(c.task.name, self.loop, self.problems["train"])
    self.notes.update(sft_notes)

  def _load_problems(self) -> None:
    """self.problems per split (prompts longer than the largest bucket left out and counted
    in self.skipped_prompts); a split the run needs must not be empty."""
    c = self.c
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

  def _problems(self, split: str, limit: int):
    if self.loop.mode == "eval" and split != "test":
      return []  # eval-only runs read the test split alone
    problems = registry.load_problems(self.task.name, split, self.c.task.data_dir,
                                      self.c.task.seed)
    return subsample.stratified(problems, limit, seed=self.c.task.seed, split=split)

  def stage(self, name: str, compute: Callable[[], tuple[dict, object]],
            resume: Callable[[dict], object] | None = None) -> tuple[dict, object]:
    """(record, value) of one stage, computed once.

    `compute()` returns (record, value): the record (JSON) is cached in the manifest, the
    value (params, kept samples; None for an evaluation) is what the next stage uses. A
    stage the manifest holds is not recomputed: its record is read back and its value is
    `resume(record)` (e.g. params restored from the record's checkpoint; None without
    `resume`).
    """
    if self.manifest.done(name):
      logging.info("stage %s: already done (manifest)", name)
      record = self.manifest.get(name)
      return record, resume(record) if resume else None
    logging.info("stage %s: start", name)
    t0, meter = time.perf_counter(), stage_memory.StageMeter()
    record, value = compute()
    record["memory"] = meter.finish()  # host RSS and device bytes (stage_memory.py)
    record["seconds"] = time.perf_counter() - t0
    self.manifest.mark(name, record, record["seconds"])
    logging.info("stage %s: done in %.1fs", name, record["seconds"])
    return record, value

  @property
  def gap_problems(self) -> list:
    """Train problems of the greedy train pass@1 (eval.train_limit of them, stratified);
    none in an eval-only run (it reads the test split alone)."""
    return subsample.stratified(self.problems["train"], self.eval_cfg.train_limit,
                                seed=self.c.task.seed, split="train_gap")

  def val_reward_fn(self, pool):
    """The M-step's "reward on D_val": greedy pass@1 on validation (else on train)."""
    problems = self.problems["validation"] or self.problems["train"]
    return lambda params: greedy_eval.greedy_pass1(params, problems, self.sampler, pool,
                                                   self.c.seed)["pass1"]

  def restore(self, path: str, model_cfg=None):
    """Params of the model checkpoint at `path` (this run's model unless `model_cfg`)."""
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
