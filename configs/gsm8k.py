r"""Run card: ReST-EM on GSM8K with the 8-shot chain-of-thought prompt (the common small-model setting).

Command (after `pip install -e .`; CKPT made once by `python -m restem_jax.convert import
--source=HF_DIR_OR_GGUF --out=CKPT`, see docs/models.md; DATA laid out like
/work/shared/data: gsm8k/train.jsonl, gsm8k/test.jsonl, math/math500_test.jsonl):

  python -m restem_jax.main --config=configs/gsm8k.py:llama3_1b --workdir=W \
      --config.base.checkpoint=CKPT --config.task.data_dir=DATA

Presets (configs/card_presets.py): smollm2_135m (CPU smoke), llama3_1b, qwen2.5_1.5b,
llama3_8b (one GPU host, 8x H100 80GB), and llama3_1b_tpu / qwen2.5_1.5b_tpu (TPU v5e 2x4),
llama3_8b_tpu (TPU v5p 2x4x4). bf16 compute, fp32 master weights, remat, FSDP over every
device (mesh (1, -1, 1)).

What it does: evaluates the base on GSM8K test (greedy pass@1; pass@k/maj@k from 32
samples at T=1.0, top-p 0.95), fine-tunes it on the train rationales (SFT baseline), then
3 ReST-EM iterations with the MATH card's E-step settings (32 samples at T=0.7, top-k 40,
cap 10, dedup) and M-steps from the base, early-stopping on a 500-problem validation
slice held out from train. MATH500 is evaluated for every model as a transfer task.

Lengths (measured with the SmolLM2 tokenizer, a 49k BPE): 8-shot prompts of GSM8K test
are 791 tokens at the median, 921 at most; train rationales 84 at the median, 219 at p99,
338 at most. Hence prompt buckets (832, 1024), max_new_tokens 384 and 1,536-token rows.

Expected cost (an ESTIMATE, not measured: `card_presets.estimate`, i.e.
ModelConfig.flops_per_token x tokens, with 6,973 train problems, 800-token prompts, 150
generated tokens per sample, 8 kept samples per problem trained once (x3 for backward),
1,319 test problems x (greedy + 32 samples), 3 iterations + the base evaluation):
Llama-3.2-1B 1.6e18 FLOPs in all (9.9e16 per E-step, 4.0e17 per M-step pass);
Qwen2.5-1.5B 2.0e18; Llama-3.1-8B 9.5e18 (0.8 h at 40% of 8x H100's bf16 peak). Decoding
is memory-bound: the E-step and evaluations take several times what their FLOPs imply.

The paper reports GSM8K only as a transfer task of its MATH runs (Figure 2, right:
greedy pass@1 of PaLM 2-S*/L rising over ReST-EM iterations trained on MATH) and
discusses RFT: "Rejection Sampling Fine-tuning (RFT) (Yuan et al., 2023) improves
reasoning performance on GSM8K and corresponds to running a single generate (E-step)
and improve (M-step) of ReSTEM" (`--config.loop.mode=rft`). It reports no ReST-EM run
trained on GSM8K; this card applies its MATH settings to GSM8K.

Any field can be overridden, e.g. `--config.loop.mode=rft --config.estep.num_samples=64`.
"""

import ml_collections

from restem_jax import config_files


# The docstring's cost ESTIMATE: card_presets.estimate(model, **COST_INPUTS)
# (tests/test_run_cards.py checks the totals quoted above).
COST_INPUTS = dict(train_problems=6973, num_samples=32, prompt_tokens=800, new_tokens=150,
                   kept_per_problem=8, test_problems=1319, eval_samples=32, iterations=3)

def _card_presets():
  return config_files.sibling(__file__, "card_presets")


def get_config(preset: str = "smollm2_135m"):
  c = _card_presets().base_card(preset, "gsm8k")
  c.task.update(
      name="gsm8k",           # GSM8K, 8-shot CoT prompt (restem_jax/tasks/gsm8k.py)
      data_dir="",            # DATA: gsm8k/train.jsonl, gsm8k/test.jsonl (set on the command line)
      seed=0,                 # seed of the validation slice held out from train
      train_limit=0,          # all train problems (7,473 minus the validation slice)
      val_limit=0,            # the whole held-out slice (500 problems)
      test_limit=0,           # all 1,319 test problems
  )
  c.loop.update(
      mode="restem",          # the M-step always restarts from the base model
      num_iterations=3,
      sft_baseline=True,      # fine-tune the base on the train rationales (report row)
  )
  c.estep.update(
      num_samples=32,         # the paper's MATH setting
      max_per_problem=10,     # paper: cut-off of 10 per problem
      dedup=True,             # identical correct solutions of a problem are kept once
      chunk_problems=256,     # problems per resumable E-step chunk
  )
  c.sampler.update(
      prompt_buckets=(832, 1024),  # 8-shot prompts: p50 791, max 921 tokens (docstring)
      max_new_tokens=384,     # rationales: see the docstring
  )
  c.train.update(seq_len=1536)  # >= largest bucket + max_new_tokens + 1
  c.mstep.update(
      max_steps=600,          # upper bound per M-step; early stopping picks the step
  )
  c.eval.update(
      num_samples=32,         # pass@k / maj@k samples per test problem (T=1.0, p=0.95)
      ks=(1, 4, 16, 32),
      temperature=1.0,
      top_p=0.95,
      top_k=0,
  )
  c.eval.transfer_tasks = ml_collections.ConfigDict(dict(
      math500=dict(data_dir=c.task.get_ref("data_dir"), limit=0),  # harder math, same DATA
  ))
  if preset == "smollm2_135m":  # CPU smoke: a few problems, one short iteration
    c.task.update(train_limit=16, val_limit=8, test_limit=16)
    c.eval.transfer_tasks.math500.limit = 16
    c.loop.update(num_iterations=1)
    c.estep.update(num_samples=4, chunk_problems=8)
    c.mstep.update(max_steps=20, eval_every=10, warmup_steps=2, learning_rate=2e-5)
    c.eval.update(num_samples=4, ks=(1, 4))
  return c
