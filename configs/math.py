r"""Run card: ReST-EM on Hendrycks MATH (Singh et al. 2024, section 5, Figure 2).

Command (after `pip install -e .`; CKPT made once by `python -m restem_jax.convert import
--source=HF_DIR_OR_GGUF --out=CKPT`, see docs/models.md; DATA laid out like
/work/shared/data: math/train.jsonl, math/test.jsonl, math/math500_test.jsonl,
gsm8k/test.jsonl):

  python -m restem_jax.main --config=configs/math.py:llama3_8b --workdir=W \
      --config.base.checkpoint=CKPT --config.task.data_dir=DATA

Presets (configs/card_presets.py): smollm2_135m (CPU smoke), llama3_1b, qwen2.5_1.5b,
llama3_8b (one GPU host, 8x H100 80GB), and llama3_1b_tpu / qwen2.5_1.5b_tpu (TPU v5e 2x4),
llama3_8b_tpu (TPU v5p 2x4x4). bf16 compute, fp32 master weights, remat, FSDP over every
device (mesh (1, -1, 1)).

What it does: evaluates the base model on MATH test (greedy pass@1, pass@k/maj@k from
32 samples at T=1.0, top-p 0.95), fine-tunes it on the human solutions of train.jsonl
(the SFT baseline), then 3 ReST-EM iterations: E-step 32 samples per train problem with
the Minerva 4-shot prompt at T=0.7, top-k 40, correct ones kept, at most 10 per problem,
deduplicated; M-step fine-tunes the base (never the previous policy), early-stopping on
greedy pass@1 of a 500-problem validation slice held out from train. MATH500 and GSM8K
(the paper's transfer task) are evaluated for every model.

Lengths (measured with the SmolLM2 tokenizer, a 49k BPE; Llama 3's 128k vocabulary
gives fewer tokens): 4-shot prompts of MATH train are 746 tokens at the median, 964 at
p95, 1,244 at p99, 2,735 at most; reference solutions in train.jsonl are 169 tokens
at the median, 678 at p95, 1,093 at p99. Hence prompt buckets up to 1,280 (longer prompts,
< 1%, are skipped and counted), max_new_tokens 768 and 2,560-token training rows.

Expected cost (an ESTIMATE, not measured: `card_presets.estimate`, i.e.
ModelConfig.flops_per_token x tokens, with 7,000 train problems, 800-token prompts, 400
generated tokens per sample, 5 kept samples per problem trained once (x3 for backward),
5,000 test problems x (greedy + 32 samples), 3 iterations + the base evaluation):
Llama-3.1-8B 1.5e18 FLOPs per E-step, 1.9e18 per M-step pass, 1.1e18 per evaluation,
1.4e19 in all (1.3 h at 40% of 8x H100's bf16 peak, 8 x 989 TFLOP/s); Llama-3.2-1B
2.4e18, Qwen2.5-1.5B 3.0e18 in all. Decoding is memory-bound, so the E-step and the
evaluations take several times what their FLOPs imply: plan for a day of 8x H100 at 8B.

The paper (PaLM 2, section 5.1): "On the MATH dataset, the test accuracy improvement with
ReSTEM is 5.94% for PaLM 2-S compared to 6.34% for the larger PaLM 2-L model"; MATH
"benefits from performing multiple iterations of ReSTEM, both in terms of performance on
the MATH test set, as well as transfer to GSM8K" (Figure 2: 3 iterations, greedy pass@1;
"fine-tuning on model-generated solutions substantially outperforms using human-written
solutions"). Settings: "32 for the MATH dataset", "top-K sampling with K=40 and
temperature of 0.7", cut-off "10 for both MATH and APPS".

Any field can be overridden, e.g. `--config.estep.num_samples=16 --config.task.train_limit=2000`.
"""

import ml_collections

from restem_jax import config_files


# The docstring's cost ESTIMATE: card_presets.estimate(model, **COST_INPUTS)
# (tests/test_run_cards.py checks the totals quoted above).
COST_INPUTS = dict(train_problems=7000, num_samples=32, prompt_tokens=800, new_tokens=400,
                   kept_per_problem=5, test_problems=5000, eval_samples=32, iterations=3)

def _card_presets():
  return config_files.sibling(__file__, "card_presets")


def get_config(preset: str = "smollm2_135m"):
  c = _card_presets().base_card(preset, "math")
  c.task.update(
      name="math",            # Hendrycks MATH, Minerva 4-shot prompt (restem_jax/tasks/math.py)
      data_dir="",            # DATA: math/train.jsonl, math/test.jsonl, ... (set on the command line)
      seed=0,                 # seed of the validation slice held out from train
      train_limit=0,          # all train problems (7,500 minus the 4 shots and the validation slice)
      val_limit=0,            # the whole held-out slice (500 problems)
      test_limit=0,           # all 5,000 test problems
  )
  c.loop.update(
      mode="restem",          # the M-step always restarts from the base model
      num_iterations=3,       # paper Figure 2: 3 iterations on MATH
      sft_baseline=True,      # fine-tune the base on train.jsonl's human solutions (report row)
  )
  c.estep.update(
      num_samples=32,         # paper: 32 per problem for MATH
      max_per_problem=10,     # paper: cut-off of 10 per problem
      dedup=True,             # identical correct solutions of a problem are kept once
      chunk_problems=256,     # problems per resumable E-step chunk
  )
  c.sampler.update(
      prompt_buckets=(768, 1024, 1280),  # 4-shot prompts: p50 746, p99 1,244 tokens (docstring)
      max_new_tokens=768,     # reference solutions: p95 678 tokens
  )
  c.train.update(seq_len=2560)  # >= largest bucket + max_new_tokens + 1
  c.mstep.update(
      max_steps=1000,         # upper bound per M-step; early stopping picks the step
  )
  c.eval.update(
      num_samples=32,         # pass@k / maj@k samples per test problem (paper Figure 5: T=1.0, p=0.95)
      ks=(1, 4, 16, 32),
      temperature=1.0,
      top_p=0.95,
      top_k=0,
  )
  data_dir = c.task.get_ref("data_dir")  # transfer data read from the same DATA
  c.eval.transfer_tasks = ml_collections.ConfigDict(dict(
      gsm8k=dict(data_dir=data_dir, limit=0),    # paper Figure 2 (right): greedy pass@1
      math500=dict(data_dir=data_dir, limit=0),  # the PRM800K 500-problem MATH test split
  ))
  if preset == "smollm2_135m":  # CPU smoke: a few problems, one short iteration
    c.task.update(train_limit=16, val_limit=8, test_limit=16)
    c.eval.transfer_tasks.gsm8k.limit = 16
    c.eval.transfer_tasks.math500.limit = 16
    c.loop.update(num_iterations=1)
    c.estep.update(num_samples=4, chunk_problems=8)
    c.mstep.update(max_steps=20, eval_every=10, warmup_steps=2, learning_rate=2e-5)
    c.eval.update(num_samples=4, ks=(1, 4))
  return c
