"""The run config's sections that no library dataclass already describes.

Each field: its type, its default (what a card that does not set it gets) and one line of
what it does. `schema.RunConfig` assembles these with the library's own configs where a
section is exactly one (`MeshConfig`, `LoopConfig`, `EStepConfig`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from restem_jax.config.model_section import UNSET, ModelSection


@dataclasses.dataclass(frozen=True)
class TaskSection:
  name: str = "toy_arith"     # a registered task (restem_jax.tasks)
  seed: int = 0               # generator seed for toy tasks; validation slice seed otherwise
  data_dir: str = ""          # root of local data files (real data sets)
  vocab: str = ""             # a restem_jax.vocab.load path; '' = the base checkpoint's, else chars
  test_limit: int = 0         # 0 = all test problems; N = a seeded stratified subsample
  train_limit: int = 0        # 0 = all train problems (N: as test_limit)
  val_limit: int = 0          # 0 = all validation problems (the M-step's D_val)
  module: str = ""            # a module or path/to/file.py imported first (it may register tasks)
  train_file: str = ""        # task.name='jsonl': train rows (.jsonl, .jsonl.gz or .parquet)
  validation_file: str = ""   # '' = a seeded 10% hold-out of train_file
  test_file: str = ""         # test rows
  id_field: str = ""          # column of a row's id; '' = FILE_ROLE/LINE
  difficulty_field: str = ""  # column of a row's level (per-level tables); '' = one level
  reference_field: str = ""   # column of a human solution (SFT, few-shot, the gold check)
  answer_field: str = "answer"  # column of the gold answer that built-in checkers read
  prompt_template: str = ""   # str.format over the row, e.g. 'Question: {question}\nAnswer:'
  fewshot_file: str = ""      # rows shown (template + reference) before every prompt
  stop: tuple[str, ...] = ()  # stop strings of the jsonl task's completions
  chat: bool = False          # prompts as conversations in the base checkpoint's chat template
  system_prompt: str = ""     # chat: a system turn first ('' = none)
  chat_template_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # chat:
                              # extra template variables


@dataclasses.dataclass(frozen=True)
class BaseSection:
  checkpoint: str = ""        # base checkpoint dir; '' = W/base (pretrained if missing)
  import_from: str = ""       # HF dir, .gguf, 'package:MODULE/FILE' or 'parts:NAME' (imported
                              # into the base checkpoint dir on first use)
  gguf_head: str = "keep"     # a GGUF's stored `output` head: 'keep' | 'tie'
  pretrain: bool = True       # pretrain the toy base model when no checkpoint exists
  use_shipped: bool = True    # ...unless the package's toy base was made with this recipe
  pretrain_documents: int = 20_000  # size of the generated pretraining corpus
  mistake_rate: float = 0.6   # fraction of corpus solutions with the left-to-right mistake
  pretrain_steps: int = 1200  # toy pretraining steps
  pretrain_learning_rate: float = 5e-3  # toy pretraining peak learning rate (cosine)
  pretrain_warmup_steps: int = 50  # toy pretraining warmup steps


@dataclasses.dataclass(frozen=True)
class LoraSection:
  rank: int = 0               # adapter rank r; 0 = full fine-tuning (every weight trains)
  alpha: float = 16.0         # update = alpha / r * A B
  targets: tuple[str, ...] = ("q", "k", "v", "o", "gate", "up", "down")  # projections adapted
  dropout: float = 0.0        # PEFT lora_dropout: the adapter path's input, training steps only


@dataclasses.dataclass(frozen=True)
class TrainSection:
  seq_len: int = 128          # packed row length
  rows_per_micro: int = 32    # rows per micro-batch
  accum_steps: int = 1        # gradient accumulation micro-batches per step
  loss_chunk_len: int = 512   # positions per LM-head/softmax chunk of the loss; 0 = full logits
  lora: LoraSection = LoraSection()  # LoRA M-steps (restem_jax.training.lora)


@dataclasses.dataclass(frozen=True)
class MStepSection:
  max_steps: int = 200        # fine-tuning steps per M-step (upper bound)
  eval_every: int = 25        # steps between validation-reward evaluations
  patience: int = 2           # evaluations without improvement before stopping early
  learning_rate: float = 1e-3  # peak learning rate
  warmup_steps: int = 10      # linear warmup steps
  schedule: str = "constant"  # 'constant' | 'cosine'
  weight_decay: float = 0.0   # AdamW weight decay
  decay_steps: int = 0        # cosine: steps from start to end of decay; 0 = max_steps
  end_lr_fraction: float = 0.1  # cosine: final lr / peak lr
  b1: float = 0.9             # Adam beta1
  b2: float = 0.95            # Adam beta2
  grad_clip_norm: float = 1.0  # global gradient-norm clip


@dataclasses.dataclass(frozen=True)
class TransferEntry:
  """One `config.eval.transfer_tasks` entry (restem_jax/loop/transfer.py)."""
  task: str = ""              # a registered task; '' = the entry's label
  data_dir: str = ""          # root of its data files
  split: str = "test"         # the split evaluated
  limit: int = 0              # 0 = all; N = a seeded stratified subsample
  seed: int = 0               # subsample seed
  num_samples: int = 0        # 0 = greedy pass@1 only; else also pass@k at config.eval's T/top-p
  ks: tuple[int, ...] = ()    # pass@k ks; () = powers of two up to num_samples


@dataclasses.dataclass(frozen=True)
class EvalSection:
  num_samples: int = 8        # n per test problem for pass@k / maj@k (0 = greedy only)
  ks: tuple[int, ...] = (1, 2, 4, 8)  # pass@k / maj@k ks
  temperature: float = 1.0    # paper: 1.0
  top_p: float = 0.95         # paper: 0.95
  top_k: int = 0              # 0 = no top-k filter for evaluation samples
  train_limit: int = 0        # train problems in the greedy train pass@1; 0 = all
  transfer_tasks: Mapping[str, TransferEntry] = dataclasses.field(default_factory=dict)  # other
                              # tasks every model is also evaluated on (label -> entry)


@dataclasses.dataclass(frozen=True)
class SamplerSection:
  prompt_buckets: tuple[int, ...] = (32,)  # left-padded prompt lengths (one program each)
  max_new_tokens: int = 64    # generated tokens per sample (upper bound)
  prompts_per_batch: int = 64  # prompts per decode call (x num_samples rows)
  slots_per_problem: int = 0  # refill engine: S slots per problem; 0 = one row per sample
  engine: str = "cascade"     # 'cascade' (shared-prefix cache) | 'repeat' (restem_jax/sampling)
  params_dtype: str = ""      # sampling weights: '' = the model's param dtype | 'bfloat16' | ...
  kv_cache_dtype: str = ""    # KV cache: '' = the model's compute dtype | 'bfloat16' | ...
  temperature: float = 0.7    # E-step sampling temperature (paper: 0.7)
  top_k: int = 40             # E-step top-k (paper: 40)
  top_p: float = 1.0          # E-step nucleus threshold (1.0 = off)


@dataclasses.dataclass(frozen=True)
class VerifierSection:
  num_workers: int = 2        # verifier worker processes
  timeout_s: float = 60.0     # per-sample wall cap over all its test runs
  cpu_time_s: float = 4.0     # CPU seconds per code test (RLIMIT_CPU)
  require_bubblewrap: bool = False  # refuse to run code without the bwrap sandbox
  allow_unsandboxed: bool = False  # without bwrap and not root: run code with rlimits only
  checker: str = ""           # '' = the task's own; a built-in or 'path/file.py:fn'
  keep_threshold: float = 1.0  # a sample is correct (kept) when its score is at least this
  tolerance: float = 1e-6     # numeric checker: |pred - gold| <= tolerance * max(1, |gold|)
  max_gold_failures: int = 0  # start-up: validation references the checker may reject


@dataclasses.dataclass(frozen=True)
class TeacherSection:
  checkpoint: str = ""        # distill mode: the teacher's checkpoint dir (self-describing)
  estep_dir: str = ""         # distill mode: reuse a finished run's E-step
  min_correct: int = 0        # distill: only problems with >= this many correct teacher samples
  model: ModelSection = UNSET  # teacher architecture; None fields = from the checkpoint
