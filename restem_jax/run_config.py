"""The library boundary: an ml_collections ConfigDict -> frozen, typed dataclasses.

Library modules never see the ConfigDict; `main.py` builds these once.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import seqio

from restem_jax import vocab as vocab_lib
from restem_jax.checkpoint import model_checkpoint
from restem_jax.loop.stage_configs import EStepConfig, EvalConfig
from restem_jax.loop.modes import LoopConfig
from restem_jax.loop.mstep import MStepConfig
from restem_jax.model.config import ModelConfig
from restem_jax.sampling.sampler import SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import partitioning
from restem_jax.sharding.mesh import MeshConfig
from restem_jax.tasks.chat_prompt import ChatPromptConfig
from restem_jax.tasks.jsonl_task import JsonlTaskConfig
from restem_jax.training.lora import LoraConfig
from restem_jax.training.optimizer import OptimizerConfig
from restem_jax.training.trainer import TrainLoopConfig
from restem_jax.verify import checker_spec as checker_spec_lib
from restem_jax.verify.checker_spec import CheckerSpec

T = TypeVar("T")


def build(cls: type[T], section: str, values: dict[str, Any]) -> T:
  """`cls(**values)` with an error naming the config section and bad field."""
  fields = {f.name for f in dataclasses.fields(cls)}
  unknown = sorted(set(values) - fields)
  if unknown:
    raise ValueError(f"config.{section} has unknown field(s) {unknown}; "
                     f"{cls.__name__} accepts {sorted(fields)}.")
  try:
    return cls(**values)
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.{section} is invalid: {e}") from e


def _tuples(d: dict) -> dict:
  return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def model_config(c) -> ModelConfig:
  """config.model merged with config.base.checkpoint's model_config.json (None = from CKPT)."""
  return model_checkpoint.model_config_for(c.model.to_dict(), c.base.checkpoint or None)


def check_model_context(model_cfg: ModelConfig, c, train_seq_len: int | None = None) -> None:
  """Raises unless the longest sequence the run samples (largest prompt bucket +
  max_new_tokens) and trains on (train.seq_len) is one the model computes exactly
  (a checkpoint's sliding window; see `ModelConfig.check_context`)."""
  s = sampler_config(c)
  model_cfg.check_context(max(s.prompt_buckets) + s.max_new_tokens,
                          "sampling context (largest sampler.prompt_buckets + max_new_tokens)")
  if train_seq_len is not None:
    model_cfg.check_context(train_seq_len, "train.seq_len")


def mesh_config(c) -> MeshConfig:
  return build(MeshConfig, "mesh", _tuples(c.mesh.to_dict()))


def logical_rules(c) -> tuple:
  """Training (M-step) logical axis rules."""
  return partitioning.normalize_rules(c.logical_axis_rules)


def sampling_rules(c) -> tuple:
  """Sampling (E-step, evaluation) rules; configs without the field use SAMPLING_RULES."""
  if "sampling_logical_axis_rules" not in c:
    return partitioning.SAMPLING_RULES
  return partitioning.normalize_rules(c.sampling_logical_axis_rules)


def sampler_config(c) -> SamplerConfig:
  s = c.sampler
  return build(SamplerConfig, "sampler", dict(
      prompt_buckets=tuple(s.prompt_buckets), max_new_tokens=s.max_new_tokens,
      prompts_per_batch=s.prompts_per_batch, slots_per_problem=s.get("slots_per_problem", 0),
      params_dtype=s.get("params_dtype", ""), kv_cache_dtype=s.get("kv_cache_dtype", "")))


def sampling_params(c) -> SamplingParams:
  s = c.sampler
  return build(SamplingParams, "sampler", dict(temperature=s.temperature, top_k=s.top_k,
                                               top_p=s.top_p))


def vocabulary(c) -> seqio.Vocabulary:
  """config.task.vocab if set: any tokenizer `vocab.load` reads (SentencePiece .model, .gguf,
  tiktoken ranks, a Hugging Face tokenizer directory); else the tokenizer stored in the
  self-describing config.base.checkpoint; else ('' ) the toy char vocabulary."""
  path = c.task.vocab
  base = c.base.checkpoint
  if not path and base and model_checkpoint.has_model_config(base):
    path = model_checkpoint.tokenizer_dir(base) or ""
  try:
    return vocab_lib.load(path)
  except FileNotFoundError as e:
    raise FileNotFoundError(f"config.task.vocab={path!r}: {e}") from e
  except ValueError as e:
    raise ValueError(f"config.task.vocab={path!r}: {e}") from e


def loop_config(c) -> LoopConfig:
  return build(LoopConfig, "loop", _tuples(c.loop.to_dict()))


def estep_config(c) -> EStepConfig:
  return build(EStepConfig, "estep", c.estep.to_dict())


def eval_config(c) -> EvalConfig:
  d = _tuples(c.eval.to_dict())
  d.pop("transfer_tasks", None)  # restem_jax.loop.evaluation.transfer reads these
  return build(EvalConfig, "eval", d)


_MSTEP_LOOP_FIELDS = ("max_steps", "eval_every", "patience")


def mstep_config(c) -> tuple[MStepConfig, TrainLoopConfig]:
  """(MStepConfig, TrainLoopConfig) from config.mstep and config.train."""
  m = c.mstep.to_dict()
  mstep = build(MStepConfig, "mstep", {k: m.pop(k) for k in _MSTEP_LOOP_FIELDS if k in m})
  m.setdefault("decay_steps", mstep.max_steps)
  opt = build(OptimizerConfig, "mstep", m)
  train = c.train.to_dict()
  train.pop("lora", None)  # lora_config reads it
  loop = build(TrainLoopConfig, "train", dict(train, num_steps=mstep.max_steps,
                                              seed=c.seed, optimizer=opt))
  return mstep, loop


def checker_spec(c) -> CheckerSpec | None:
  """config.verifier.checker as a validated `CheckerSpec` (user code imported once here, so a
  bad spec fails at start-up naming file and function); None = the task's own checker."""
  v = c.verifier
  if not v.get("checker", ""):
    return None
  spec = build(CheckerSpec, "verifier", dict(
      spec=v.checker, answer_field=c.task.answer_field, keep_threshold=v.keep_threshold,
      tolerance=v.tolerance))
  return checker_spec_lib.validate(spec)


def chat_prompt_config(c) -> ChatPromptConfig:
  t = c.task
  return build(ChatPromptConfig, "task", dict(
      system_prompt=t.system_prompt, template_kwargs=t.chat_template_kwargs.to_dict()))


def jsonl_task_config(c) -> JsonlTaskConfig:
  t = c.task
  return build(JsonlTaskConfig, "task", dict(
      train_file=t.train_file, test_file=t.test_file, validation_file=t.validation_file,
      id_field=t.id_field, difficulty_field=t.difficulty_field,
      reference_field=t.reference_field, answer_field=t.answer_field,
      prompt_template=t.prompt_template, fewshot_file=t.fewshot_file))


def lora_config(c) -> LoraConfig | None:
  """config.train.lora (rank, alpha, targets) -> LoraConfig; None when absent or rank 0
  (every weight trains)."""
  section = c.train.get("lora")
  if not section or not section.get("rank"):
    return None
  return build(LoraConfig, "train.lora", _tuples(section.to_dict()))
