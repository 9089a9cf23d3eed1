"""The stage configs each library layer takes, derived from the run config's sections.

`main.py` builds the `RunConfig` (restem_jax/config/schema.py) once; these small functions
turn its sections into the configs of the sampler, the trainer, the M-step, the verifier's
checker, the jsonl task, ... (sections that are such a config already are read directly,
e.g. `rc.loop`, `rc.estep`, `rc.mesh`).
"""

from __future__ import annotations

import seqio

from restem_jax import vocab as vocab_lib
from restem_jax.checkpoint import model_checkpoint
from restem_jax.config import model_section
from restem_jax.config.schema import RunConfig
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



def model_config(c: RunConfig) -> ModelConfig:
  """config.model merged with config.base.checkpoint's model_config.json (None = from CKPT)."""
  return model_checkpoint.model_config_for(model_section.values(c.model),
                                           c.base.checkpoint or None)


def check_model_context(model_cfg: ModelConfig, c: RunConfig,
                        train_seq_len: int | None = None) -> None:
  """Raises unless the longest sequence the run samples (largest prompt bucket +
  max_new_tokens) and trains on (train.seq_len) is one the model computes exactly
  (a checkpoint's sliding window; see `ModelConfig.check_context`)."""
  s = c.sampler
  model_cfg.check_context(max(s.prompt_buckets) + s.max_new_tokens,
                          "sampling context (largest sampler.prompt_buckets + max_new_tokens)")
  if train_seq_len is not None:
    model_cfg.check_context(train_seq_len, "train.seq_len")


def mesh_config(c: RunConfig) -> MeshConfig:
  return c.mesh


def logical_rules(c: RunConfig) -> tuple:
  """Training (M-step) logical axis rules."""
  return partitioning.normalize_rules(c.logical_axis_rules)


def sampling_rules(c: RunConfig) -> tuple:
  """Sampling (E-step, evaluation) rules."""
  return partitioning.normalize_rules(c.sampling_logical_axis_rules)


def _section_error(section: str, fn, **values):
  try:
    return fn(**values)
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.{section} is invalid: {e}") from e


def sampler_config(c: RunConfig) -> SamplerConfig:
  s = c.sampler
  return _section_error("sampler", SamplerConfig, prompt_buckets=s.prompt_buckets,
                        max_new_tokens=s.max_new_tokens, prompts_per_batch=s.prompts_per_batch,
                        engine=s.engine, slots_per_problem=s.slots_per_problem,
                        params_dtype=s.params_dtype, kv_cache_dtype=s.kv_cache_dtype)


def sampling_params(c: RunConfig) -> SamplingParams:
  s = c.sampler
  return _section_error("sampler", SamplingParams, temperature=s.temperature, top_k=s.top_k,
                        top_p=s.top_p)


def vocabulary(c: RunConfig) -> seqio.Vocabulary:
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


def loop_config(c: RunConfig) -> LoopConfig:
  return c.loop


def estep_config(c: RunConfig) -> EStepConfig:
  return c.estep


def eval_config(c: RunConfig) -> EvalConfig:
  """config.eval without its transfer_tasks (restem_jax.loop.evaluation.transfer reads these)."""
  e = c.eval
  return _section_error("eval", EvalConfig, num_samples=e.num_samples, ks=e.ks,
                        temperature=e.temperature, top_p=e.top_p, top_k=e.top_k,
                        train_limit=e.train_limit)


def mstep_config(c: RunConfig) -> tuple[MStepConfig, TrainLoopConfig]:
  """(MStepConfig, TrainLoopConfig) from config.mstep and config.train."""
  m, t = c.mstep, c.train
  mstep = _section_error("mstep", MStepConfig, max_steps=m.max_steps, eval_every=m.eval_every,
                         patience=m.patience)
  opt = _section_error("mstep", OptimizerConfig, learning_rate=m.learning_rate,
                       warmup_steps=m.warmup_steps, schedule=m.schedule,
                       decay_steps=m.decay_steps or m.max_steps,
                       end_lr_fraction=m.end_lr_fraction, b1=m.b1, b2=m.b2,
                       weight_decay=m.weight_decay, grad_clip_norm=m.grad_clip_norm)
  loop = _section_error("train", TrainLoopConfig, seq_len=t.seq_len,
                        rows_per_micro=t.rows_per_micro, accum_steps=t.accum_steps,
                        loss_chunk_len=t.loss_chunk_len, num_steps=mstep.max_steps,
                        seed=c.seed, optimizer=opt)
  return mstep, loop


def checker_spec(c: RunConfig) -> CheckerSpec | None:
  """config.verifier.checker as a validated `CheckerSpec` (user code imported once here, so a
  bad spec fails at start-up naming file and function); None = the task's own checker."""
  v = c.verifier
  if not v.checker:
    return None
  spec = _section_error("verifier", CheckerSpec, spec=v.checker,
                        answer_field=c.task.answer_field, keep_threshold=v.keep_threshold,
                        tolerance=v.tolerance)
  return checker_spec_lib.validate(spec)


def chat_prompt_config(c: RunConfig) -> ChatPromptConfig:
  t = c.task
  return ChatPromptConfig(system_prompt=t.system_prompt,
                          template_kwargs=dict(t.chat_template_kwargs))


def jsonl_task_config(c: RunConfig) -> JsonlTaskConfig:
  t = c.task
  return _section_error("task", JsonlTaskConfig, train_file=t.train_file,
                        test_file=t.test_file, validation_file=t.validation_file,
                        id_field=t.id_field, difficulty_field=t.difficulty_field,
                        reference_field=t.reference_field, answer_field=t.answer_field,
                        prompt_template=t.prompt_template, fewshot_file=t.fewshot_file)


def lora_config(c: RunConfig) -> LoraConfig | None:
  """config.train.lora (rank, alpha, targets, dropout) -> LoraConfig; None at rank 0 (every
  weight trains)."""
  lora = c.train.lora
  if not lora.rank:
    return None
  return _section_error("train.lora", LoraConfig, rank=lora.rank, alpha=lora.alpha,
                        targets=lora.targets, dropout=lora.dropout)
