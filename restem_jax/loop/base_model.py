"""The base model: restore it from a checkpoint, or install or pretrain the toy one once.

The M-step of every ReST-EM iteration restarts from these params, so they are
saved as a self-describing checkpoint (`model_checkpoint`: Orbax params +
model_config.json; default W/base) and restored from there onto abstract targets.
With no checkpoint at W/base, the toy base that ships with the package is installed
there when this run would pretrain exactly it (same recipe: `shipped_base`), else the
toy base is pretrained.
"""

from __future__ import annotations

import time

from absl import logging

from restem_jax import io
from restem_jax import run_config
from restem_jax.checkpoint import manager, model_checkpoint
from restem_jax.distributed import hosts
from restem_jax.loop import shipped_base
from restem_jax.tasks import toy_arith
from restem_jax.training import pretrain
from restem_jax.training.optimizer import OptimizerConfig
from restem_jax.training.trainer import TrainLoopConfig


def corpus(c) -> list[str]:
  """The toy pretraining corpus config.task and config.base describe."""
  if c.task.name != "toy_arith":
    raise ValueError(f"no base checkpoint and no toy pretraining corpus for task "
                     f"{c.task.name!r}: set config.base.checkpoint to an Orbax params dir.")
  return toy_arith.pretraining_texts(c.task.seed, c.base.pretrain_documents, c.base.mistake_rate)


def recipe(c, texts) -> dict:
  """What the toy base pretrained by this config depends on (besides the architecture)."""
  return {"task": c.task.name, "task_seed": c.task.seed, "vocab": c.task.vocab,
          "pretrain_documents": c.base.pretrain_documents, "mistake_rate": c.base.mistake_rate,
          "corpus_sha256": shipped_base.corpus_sha256(texts), "seed": c.seed,
          "pretrain_steps": c.base.pretrain_steps,
          "pretrain_learning_rate": c.base.pretrain_learning_rate,
          "pretrain_warmup_steps": c.base.pretrain_warmup_steps,
          "seq_len": c.train.seq_len, "rows_per_micro": c.train.rows_per_micro}


def pretrain_toy(c, model_cfg, vocab, mesh, rules, texts):
  """(params, history): the toy base pretrained on `texts` with config.base's schedule."""
  loop_cfg = TrainLoopConfig(
      seq_len=c.train.seq_len, rows_per_micro=c.train.rows_per_micro, accum_steps=1,
      num_steps=c.base.pretrain_steps, seed=c.seed,
      optimizer=OptimizerConfig(learning_rate=c.base.pretrain_learning_rate,
                                warmup_steps=c.base.pretrain_warmup_steps, schedule="cosine",
                                decay_steps=c.base.pretrain_steps))
  return pretrain.pretrain(model_cfg, vocab, texts, loop_cfg, mesh, rules, init_seed=c.seed)


def ensure_base(c, workdir: str, vocab, mesh, rules):
  """Returns (base params, base checkpoint dir, pretraining info dict)."""
  model_cfg = run_config.model_config(c)
  path = c.base.checkpoint or io.join(workdir, "base")
  if not manager.has_checkpoint(path):
    if c.base.checkpoint or not c.base.pretrain:
      raise manager.CheckpointError(f"base checkpoint {path} does not exist "
                                    "(set config.base.checkpoint or config.base.pretrain=True)")
    texts = corpus(c)
    installed = (shipped_base.install(path, recipe(c, texts), model_cfg)
                 if c.base.use_shipped else None)
    if installed is None:
      return _pretrain_and_save(c, workdir, path, model_cfg, vocab, mesh, rules, texts)
  params, meta = model_checkpoint.restore(path, model_cfg, mesh, rules)
  logging.info("restored base model from %s", path)
  return params, path, meta


def _pretrain_and_save(c, workdir, path, model_cfg, vocab, mesh, rules, texts):
  t0 = time.perf_counter()
  params, history = pretrain_toy(c, model_cfg, vocab, mesh, rules, texts)
  meta = {"pretrain_seconds": time.perf_counter() - t0, "pretrain_steps": len(history),
          "first_loss": history[0]["loss"], "final_loss": history[-1]["loss"],
          "num_params": model_cfg.num_params()}
  model_checkpoint.save(path, params, model_cfg, meta=meta)  # toy char vocab: no tokenizer files
  if hosts.is_writer():
    io.write_json_atomic(io.join(workdir, "pretrain_history.json"), history)
  logging.info("pretrained base model in %.1fs (loss %.3f -> %.3f), saved to %s",
               meta["pretrain_seconds"], meta["first_loss"], meta["final_loss"], path)
  return params, path, meta
