"""Orchestrates a run: base model -> base evaluation -> summary.

The ReST-EM iterations (E-step, M-step, evaluation) plug in here; this version
establishes the base model (pretraining the toy one if needed) and reports its
held-out greedy pass@1, writing W/summary.json.
"""

from __future__ import annotations

import json
import os
import time

from absl import logging

from restem_jax import run_config
from restem_jax.data.char_vocab import CharVocabulary
from restem_jax.loop import base_model, greedy_eval
from restem_jax.sampling.sampler import Sampler
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.tasks import registry
from restem_jax.verify.pool import VerifierPool
from restem_jax.verify.sandbox_config import SandboxConfig


def _problems(c, split: str, limit: int):
  problems = registry.load_problems(c.task.name, split, c.task.data_dir, c.task.seed)
  return problems[:limit] if limit else problems


def run(c, workdir: str) -> dict:
  """Runs the configured job in `workdir`; returns the summary dict."""
  t0 = time.perf_counter()
  os.makedirs(workdir, exist_ok=True)
  vocab = CharVocabulary()
  model_cfg = run_config.model_config(c)
  if model_cfg.vocab_size < vocab.vocab_size:
    raise ValueError(f"config.model.vocab_size={model_cfg.vocab_size} is smaller than the "
                     f"vocabulary ({vocab.vocab_size}).")
  mesh = mesh_lib.make_mesh(run_config.mesh_config(c))
  rules = run_config.logical_rules(c)
  params, base_path, base_meta = base_model.ensure_base(c, workdir, vocab, mesh, rules)
  sampler = Sampler(model_cfg, vocab, run_config.sampler_config(c), mesh, rules)
  sandbox = SandboxConfig(require_bubblewrap=c.verifier.require_bubblewrap)
  with VerifierPool(c.verifier.num_workers, c.verifier.timeout_s, sandbox=sandbox) as pool:
    test = greedy_eval.greedy_pass1(params, _problems(c, "test", c.task.test_limit), sampler,
                                    pool, c.seed)
    train = greedy_eval.greedy_pass1(params, _problems(c, "train", c.task.train_limit), sampler,
                                     pool, c.seed)
  summary = {"task": c.task.name, "mode": "base_only", "seed": c.seed,
             "base_checkpoint": base_path, "base_meta": base_meta,
             "base": {"test_pass1": test["pass1"], "train_pass1": train["pass1"],
                      "per_difficulty": test["per_difficulty"], "verdicts": test["verdicts"]},
             "iterations": [], "wall_seconds": time.perf_counter() - t0}
  with open(os.path.join(workdir, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  logging.info("base test pass@1 %.3f train pass@1 %.3f (%.0fs)", test["pass1"], train["pass1"],
               summary["wall_seconds"])
  print(json.dumps({k: summary[k] for k in ("task", "base", "wall_seconds")}, indent=2))
  return summary
