r"""Run card: ReST-EM on APPS (introductory) code generation (Singh et al. 2024, section 5, Figure 3).

Command (after `pip install -e .`; CKPT made once by `python -m restem_jax.convert import
--source=HF_DIR_OR_GGUF --out=CKPT`, see docs/models.md; DATA holds apps/train.jsonl and
apps/test.jsonl, one APPS record per line as in the HF `codeparrot/apps` jsonl files; they
are not shipped (only a 10-problem fixture, tests/fixtures/tasks/apps), and
humaneval/HumanEval.jsonl.gz for the transfer task):

  python -m restem_jax.main --config=configs/apps.py:llama3_8b --workdir=W \
      --config.base.checkpoint=CKPT --config.task.data_dir=DATA

Presets (configs/card_presets.py): smollm2_135m (CPU smoke), llama3_1b, qwen2.5_1.5b,
llama3_8b (one GPU host, 8x H100 80GB), and llama3_1b_tpu / qwen2.5_1.5b_tpu (TPU v5e 2x4),
llama3_8b_tpu (TPU v5p 2x4x4). bf16 compute, fp32 master weights, remat, FSDP over every
device (mesh (1, -1, 1)). Model programs run in the bubblewrap sandbox
(`verifier.require_bubblewrap=True`: the run refuses to start without `bwrap`), each test
case limited to 4 CPU seconds as in the APPS harness.

What it does: evaluates the base on the introductory APPS test problems (greedy pass@1;
pass@k from 10 samples at T=1.0, top-p 0.95, as in the paper's Figure 5), fine-tunes it on
the first reference solution of each train problem (SFT baseline), then 2 ReST-EM
iterations: E-step 64 programs per train problem at T=0.7, top-k 40, those passing every
test kept, at most 10 per problem, deduplicated; M-step from the base, early-stopping on
a validation slice held out from train. HumanEval is evaluated for every model (transfer).
Prompt: few-shot with programs, as the paper's E-step ("a few-shot prompt with programs for
code generation"; the paper does not publish it): two solved introductory stdin problems
of ours (restem_jax/tasks/apps_shots.py, each program checked on its own tests), then the
problem, all in the APPS paper's format (`QUESTION: ... Use Standard Input format
ANSWER:`); a sample ends at the next `\nQUESTION:`. The same problems zero-shot:
`--config.task.name=apps_zeroshot`.

Lengths (SmolLM2 tokenizer): the shot prefix is 473 tokens; the 10-problem fixture's
prompts are 676 to 1,143 tokens with it (its 3 introductory ones: 676, 757, 1,143; 202,
283, 669 zero-shot; the full APPS files were not here to measure); HumanEval prompts
(transfer) are 122 tokens at the median, 395 at most. Hence prompt buckets (768, 1536)
(longer prompts are skipped and counted), max_new_tokens 512 and 2,560-token training
rows (>= 1536 + 512 + 1).

Expected cost (an ESTIMATE, not measured: `card_presets.estimate`, i.e.
ModelConfig.flops_per_token x tokens, with 2,100 train problems, 1,073-token prompts (a
600-token problem after the 473-token shot prefix), 300 generated tokens per sample, 3
kept programs per problem trained once (x3 for backward), 1,000 test problems x (greedy +
10 samples), 2 iterations + the base evaluation): Llama-3.1-8B 6.5e17 FLOPs per E-step,
2.3e18 in all; Llama-3.2-1B 3.8e17; Qwen2.5-1.5B 4.8e17. Decoding is memory-bound, and
every program runs its test cases on the host's CPUs (up to 4 CPU s each): both dominate
the wall time, not these FLOPs.

The paper (PaLM 2, section 5.1): "on the APPS dataset, improvements are 5.6% for PaLM 2-S*
compared to 6.4% for PaLM 2-L"; "most of the gains for APPS come from the first iteration,
and the performing more iterations leads to a regression in performance on both APPS and
HumanEval" (Figure 3: 2 iterations; transfer to HumanEval). Settings: "64 for the APPS
dataset", "top-K sampling with K=40 and temperature of 0.7", cut-off "10 for both MATH
and APPS"; APPS (Introductory) has 2,342 training problems.

Any field can be overridden, e.g. `--config.loop.num_iterations=1`.
"""

import ml_collections

from restem_jax import config_files


# The docstring's cost ESTIMATE: card_presets.estimate(model, **COST_INPUTS)
# (tests/test_run_cards.py checks the totals quoted above).
COST_INPUTS = dict(train_problems=2100, num_samples=64, prompt_tokens=1073, new_tokens=300,
                   kept_per_problem=3, test_problems=1000, eval_samples=10, iterations=2)

def _card_presets():
  return config_files.sibling(__file__, "card_presets")


def get_config(preset: str = "smollm2_135m"):
  c = _card_presets().base_card(preset, "apps")
  c.task.update(
      name="apps",            # APPS introductory, few-shot prompt (restem_jax/tasks/apps.py);
                              # "apps_zeroshot": the same problems without the shots
      data_dir="",            # DATA: apps/train.jsonl, apps/test.jsonl (set on the command line)
      seed=0,                 # seed of the validation slice held out from train
      train_limit=0,          # all introductory train problems (2,342 minus validation)
      val_limit=0,            # the whole held-out slice
      test_limit=0,           # all introductory test problems
  )
  c.loop.update(
      mode="restem",          # the M-step always restarts from the base model
      num_iterations=2,       # paper Figure 3: 2 iterations; the second regresses
      sft_baseline=True,      # fine-tune the base on the reference programs (report row)
  )
  c.estep.update(
      num_samples=64,         # paper: 64 per problem for APPS
      max_per_problem=10,     # paper: cut-off of 10 per problem
      dedup=True,             # identical passing programs of a problem are kept once
      chunk_problems=64,      # problems per resumable E-step chunk
  )
  c.sampler.update(
      prompt_buckets=(768, 1536),  # shot prefix + problem statement (docstring)
      max_new_tokens=512,     # a whole program
  )
  c.train.update(seq_len=2560)  # >= largest bucket + max_new_tokens + 1
  c.mstep.update(
      max_steps=600,          # upper bound per M-step; early stopping picks the step
  )
  c.eval.update(
      num_samples=10,         # paper Figure 5: APPS pass@K up to 10 at T=1.0, p=0.95
      ks=(1, 2, 5, 10),
      temperature=1.0,
      top_p=0.95,
      top_k=0,
  )
  c.verifier.update(
      num_workers=16,         # parallel program runs (CPU cores of the host)
      cpu_time_s=4.0,         # CPU seconds per test case (APPS harness: 4 s)
      require_bubblewrap=True,  # never run model-written programs unsandboxed
  )
  c.eval.transfer_tasks = ml_collections.ConfigDict(dict(
      # paper Figure 3 (right): greedy pass@1 on all 164 problems, from the same DATA
      humaneval=dict(data_dir=c.task.get_ref("data_dir"), limit=0),
  ))
  if preset == "smollm2_135m":  # CPU smoke: a few problems, one short iteration
    c.task.update(train_limit=16, val_limit=8, test_limit=16)
    c.eval.transfer_tasks.humaneval.limit = 16
    c.loop.update(num_iterations=1)
    c.estep.update(num_samples=4, chunk_problems=8)
    c.mstep.update(max_steps=20, eval_every=10, warmup_steps=2, learning_rate=2e-5)
    c.eval.update(num_samples=4, ks=(1, 4))
    c.verifier.update(num_workers=2)
  return c
