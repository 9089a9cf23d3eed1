r"""Run card: ReST-EM on the embedded `toy_arith` task with a char-level toy model.

Command (from the repo root, after `pip install -e .`):

  python -m restem_jax.main --config=configs/toy_arith.py --workdir=runs/toy

What it does: takes the base checkpoint W/base, a 164k-param Llama-style char model (3
layers, width 64) pretrained for 1,200 steps (base.pretrain_steps) on a generated "noisy
web" arithmetic corpus (60% of multi-step solutions apply the left-to-right precedence
mistake). The package ships this base for task.seed 0 (restem_jax/data/toy_base, made by
tools/make_toy_base.py; greedy pass@1 0.422 on the first 64 test problems,
tests/loop/test_shipped_toy_base.py); the run installs it into W/base only when its
recipe equals the recorded one (task, task.seed, corpus fields and the corpus's sha256,
run seed, pretraining schedule, architecture). The corpus leaves out the validation and
test problems of its own task.seed only, so a run with another task.seed or other corpus
fields pretrains its own base first (~8 min on an idle 2-vCPU machine), as does
`--config.base.use_shipped=False`. Then it evaluates the base; fine-tunes it on the
reference solutions (the SFT baseline); runs 3 ReST-EM iterations (E-step: 8 samples per
train problem at T=0.7, top-k 40, keep correct, cap 10, dedup; M-step: fine-tune the
base, keep the best validation step); writes W/summary.json and W/report.md.

Why the toy sits where it does (measured while calibrating): a 623k-param model needed
600 steps (227 s) to reach 0.21 greedy pass@1 and its single-step arithmetic stayed
poor, so ReST-EM iterations did not beat the base. The 164k model trains 2x faster per
token; at 800-1,000 steps (base 0.20-0.31) many kept samples reached the right answer
through wrong steps, and ReST-EM gained +12 to +22 points. At 1,200 steps it does the
single steps well but mostly applies the wrong order, and self-training on verified
samples corrects that.
Train split: 1,024 problems (with 256 the M-step memorised the kept set). N=8, not
the paper's 32, to fit the 10-minute budget on a 2-vCPU machine.

Measured on the 2-vCPU dev machine (task.seed 0, 2026-11-24, main at 616d2d0): 5 min
33 s in all; base greedy pass@1 0.365 on test (pass@8 at T=1.0: 0.685), SFT 0.715,
ReST-EM iterations 0.65 / 0.67 / 0.69 (best by validation: iteration 3, +0.325).
task.seed 1 (855bf94): base 0.38, best 0.685 by validation (iteration 2, +0.305).
With the shipped base (task.seed 0, 2026-12-07, branch h-toybase at 1218001, the machine
shared with other jobs, load average 4.5-7): 6 min 18 s in all, of which the base stage
(installing the shipped base) 0.8 s; the same results as above, digit for digit.
More in README.md.
Presets: `configs/toy_arith.py:tiny` (CI-sized: a few seconds of pretraining).

Any field can be overridden, e.g. `--config.task.seed=3 --config.sampler.temperature=0.5`.
"""

import ml_collections

from restem_jax import config_files
from restem_jax.sharding.partitioning import DEFAULT_RULES, SAMPLING_RULES


def _schema_dict():
  return config_files.sibling(__file__, "schema_dict")


def get_config(preset: str = "") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # run seed: init, sampling keys (seed, iteration, problem, sample), data order

  c.model = ml_collections.ConfigDict(dict(
      vocab_size=128,      # >= the char vocabulary (100); padded for alignment
      embed_dim=64,        # width D
      num_layers=3,
      num_heads=4,
      num_kv_heads=2,      # grouped-query attention
      head_dim=16,
      mlp_dim=192,         # SwiGLU hidden width
      max_len=256,
      rope_theta=10_000.0,
      norm_eps=1e-6,
      tie_embeddings=False,
      dtype="float32",     # fp32 on CPU; 'bfloat16' on TPU/GPU
      param_dtype="float32",
      remat=False,
      attention_impl="auto",  # einsum | xla | cudnn | splash; auto: splash on TPU, cudnn on GPU
  ))
  c.mesh = ml_collections.ConfigDict(dict(
      axis_names=("data", "fsdp", "tensor"),
      axis_sizes=(-1, 1, 1),  # -1 = all remaining devices
  ))
  c.logical_axis_rules = [list(r) for r in DEFAULT_RULES]  # training: logical axis -> mesh axes
  # sampling (E-step, evaluation): weights replicated over fsdp, tensor-parallel only
  c.sampling_logical_axis_rules = [list(r) for r in SAMPLING_RULES]
  c.jax_distributed = False  # call jax.distributed.initialize() (multi-host pods)

  c.task = ml_collections.ConfigDict(dict(
      name="toy_arith",    # a registered task (restem_jax.tasks)
      seed=0,              # generator seed for toy tasks; validation slice seed otherwise
      data_dir="",         # root of local data files (real data sets)
      vocab="",            # any restem_jax.vocab.load path (docs/tokenizers.md); '' = the base
                           # checkpoint's tokenizer if it has one, else the char vocabulary
      test_limit=0,        # 0 = all test problems; N: seeded subsample stratified by
                           # difficulty and subject (restem_jax/tasks/subsample.py)
      train_limit=0,       # 0 = all train problems (N: as test_limit)
      val_limit=0,         # 0 = all validation problems (the M-step's D_val)
      # Your own task (docs/your_task.md):
      module="",           # a module or path/to/file.py imported first: it may register tasks
      train_file="",       # task.name='jsonl': train rows (.jsonl, .jsonl.gz or .parquet)
      validation_file="",  # '' = a seeded 10% hold-out of train_file
      test_file="",        # test rows
      id_field="",         # column of a row's id; '' = FILE_ROLE/LINE, e.g. 'train/17'
      difficulty_field="",  # column of a row's level (per-level tables); '' = one level
      reference_field="",  # column of a human solution (SFT, few-shot, the gold check)
      answer_field="answer",  # column of the gold answer that built-in checkers read
      prompt_template="",  # str.format over the row, e.g. 'Question: {question}\nAnswer:'
      fewshot_file="",     # rows shown (template + reference) before every prompt
      stop=(),             # stop strings of the jsonl task's completions
      chat=False,          # prompts as conversations in the base checkpoint's chat template:
                           # few-shot rows as earlier turns (jsonl, gsm8k, math, arith_fewshot)
      system_prompt="",    # chat: a system turn first ('' = none)
      # chat: extra template variables, e.g. --config.task.chat_template_kwargs='{"x": 1}'
      chat_template_kwargs=ml_collections.ConfigDict(),
  ))
  c.loop = ml_collections.ConfigDict(dict(
      mode="restem",       # restem | rest | rft | sft | distill (restem_jax/loop/modes.py)
      num_iterations=3,    # ReST-EM iterations (rft and distill run one)
      init_from="",        # M-step start: 'base' | 'previous'; '' = by mode (rest: previous)
      sft_baseline=True,   # also fine-tune the base on the reference solutions (report row)
      on_empty="stop",     # an E-step that keeps nothing: 'stop' | 'continue'
      val_on_train=False,  # a task without validation split: M-step early-stops on train
      checkpoints=(),      # mode 'eval': params dirs to evaluate (e.g. a run's W/iter_2/policy)
  ))
  c.base = ml_collections.ConfigDict(dict(
      checkpoint="",       # base checkpoint dir; '' = W/base (pretrained if missing). A set
                           # checkpoint's model_config.json must agree with config.model
      import_from="",      # HF dir, .gguf, 'package:MODULE/FILE' or 'parts:NAME' imported
                           # into the base checkpoint dir on first use
                           # (restem_jax/convert/base_import.py)
      gguf_head="keep",    # a GGUF's stored `output` head: 'keep' (untied, as llama.cpp and
                           # transformers compute) | 'tie' (checked copy of the embedding)
      pretrain=True,       # pretrain the toy base model when no checkpoint exists
      use_shipped=True,    # ...unless the package's pretrained toy base (restem_jax/data/
                           # toy_base) was made with this run's recipe: then install it into
                           # W/base (restem_jax/loop/shipped_base.py). False: pretrain
      pretrain_documents=20_000,  # size of the generated corpus
      mistake_rate=0.6,    # fraction of corpus solutions with the left-to-right mistake
      pretrain_steps=1200,
      pretrain_learning_rate=5e-3,
      pretrain_warmup_steps=50,
  ))
  c.train = ml_collections.ConfigDict(dict(
      seq_len=128,         # packed row length
      rows_per_micro=32,   # rows per micro-batch
      accum_steps=1,       # gradient accumulation micro-batches per step
      loss_chunk_len=512,  # positions per LM-head/softmax chunk of the loss; 0 = full BxTxV logits
      lora=ml_collections.ConfigDict(dict(  # LoRA M-steps (restem_jax.training.lora)
          rank=0,        # adapter rank r; 0 = full fine-tuning (every weight trains)
          alpha=16.0,    # update = alpha / r * A B
          targets=("q", "k", "v", "o", "gate", "up", "down"),  # projections adapted
          dropout=0.0,   # PEFT lora_dropout: drop prob. of the adapter path's input, training only
      )),
  ))
  c.estep = ml_collections.ConfigDict(dict(
      num_samples=8,       # N per train problem (paper: 32 MATH, 64 APPS; 8 fits the toy's budget)
      max_per_problem=10,  # cap on kept correct samples per problem (paper: 10)
      dedup=True,          # drop repeated identical correct solutions of a problem
      chunk_problems=64,   # problems per resumable E-step chunk
  ))
  c.mstep = ml_collections.ConfigDict(dict(
      max_steps=200,       # fine-tuning steps per M-step (upper bound)
      eval_every=25,       # steps between validation-reward evaluations
      patience=2,          # evaluations without improvement before stopping early
      learning_rate=1e-3,
      warmup_steps=10,
      schedule="constant",  # 'constant' | 'cosine'
      weight_decay=0.0,
  ))
  c.eval = ml_collections.ConfigDict(dict(
      num_samples=8,       # n per test problem for pass@k / maj@k (0 = greedy only)
      ks=(1, 2, 4, 8),
      temperature=1.0,     # paper: 1.0
      top_p=0.95,          # paper: 0.95
      top_k=0,             # no top-k filter for evaluation samples
      train_limit=0,       # train problems in the greedy train pass@1 (train/test gap);
                           # 0 = all, N = a stratified subsample
      # Other tasks every model is also evaluated on (label -> task, data_dir, limit, ...;
      # restem_jax/loop/evaluation/transfer.py), e.g. on the command line:
      # --config.eval.transfer_tasks='{"gsm8k": {"data_dir": "/work/shared/data"}}'
      transfer_tasks=ml_collections.ConfigDict(),
  ))
  c.sampler = ml_collections.ConfigDict(dict(
      # Left-padded prompt lengths (one program each). Toy prompts are <= 17 chars; the
      # run checks train.seq_len >= max bucket + max_new_tokens + 1 before it starts.
      prompt_buckets=(32,),
      max_new_tokens=64,
      prompts_per_batch=64,  # x num_samples rows per decode call
      slots_per_problem=0,  # refill: S slots per problem take the call's samples from one
                            # queue (restem_jax/sampling/refill.py); 0 = one row per sample
      # Sampling weights / KV cache dtype ('' = the model's param / compute dtype). On
      # accelerators set both to 'bfloat16' (the trainer keeps fp32 masters; the sampler
      # casts a copy once per policy); this CPU has no fast bf16, so the toy keeps fp32.
      params_dtype="",
      kv_cache_dtype="",
      temperature=0.7,     # paper: 0.7
      top_k=40,            # paper: 40
      top_p=1.0,
  ))
  c.verifier = ml_collections.ConfigDict(dict(
      num_workers=2,
      timeout_s=60.0,      # per-sample wall cap over all its test runs: a safety net, since
                           # code tests are CPU-limited (a run's own wall cap: 10 s)
      cpu_time_s=4.0,      # CPU seconds per code test (RLIMIT_CPU; APPS's harness: 4 s)
      require_bubblewrap=False,  # True: refuse to run code without the bwrap sandbox (multi-
                                 # process runs: always, for code tasks)
      allow_unsandboxed=False,   # True: without bwrap and not root, run code anyway with
                                 # rlimits only as your own uid (default: refuse; root
                                 # always drops to an unprivileged uid, docs/verify.md)
      checker="",          # '' = the task's own; a built-in (math numeric exact regex choice
                           # python_tests) or user code 'path/file.py:fn' / 'package.module:fn'
      keep_threshold=1.0,  # a sample is correct (kept) when its score is at least this
      tolerance=1e-6,      # the numeric checker: |pred - gold| <= tolerance * max(1, |gold|)
      max_gold_failures=0,  # start-up: validation references the checker may reject
  ))

  if preset == "tiny":
    c.model.update(embed_dim=32, num_layers=1, num_heads=2, num_kv_heads=1, head_dim=16,
                   mlp_dim=64)
    c.base.update(pretrain_documents=400, pretrain_steps=4, pretrain_warmup_steps=1)
    c.train.update(rows_per_micro=8)
    c.task.update(test_limit=12, train_limit=12, val_limit=8)
    c.sampler.update(prompt_buckets=(32,), max_new_tokens=24, prompts_per_batch=8)
    c.loop.update(num_iterations=2)
    c.estep.update(num_samples=4, chunk_problems=4)
    c.mstep.update(max_steps=4, eval_every=2, warmup_steps=1)
    c.eval.update(num_samples=4, ks=(1, 2, 4))
  elif preset:
    raise ValueError(f"unknown preset {preset!r} for configs/toy_arith.py; known: 'tiny'.")
  c.teacher = ml_collections.ConfigDict(dict(
      checkpoint="",       # distill mode: the teacher's checkpoint dir (self-describing)
      estep_dir="",        # distill mode: reuse a finished run's E-step (run dir or iter_i/estep)
      min_correct=0,       # distill: only problems with >= this many correct teacher samples
      model=_schema_dict().unset_model_fields(),  # teacher architecture; None = from the checkpoint
  ))
  # Every other RunConfig field at its default, so --config.x.y can override it too.
  return _schema_dict().complete(c)
