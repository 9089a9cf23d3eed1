r"""Plan cards: paper-scale model, batch and lengths, for the AOT memory plan.

  python -m restem_jax.plan --config=configs/paper_scale.py:llama3_8b --topology=v5p:2x4x4
  python -m restem_jax.plan --config=configs/paper_scale.py:llama3_1b --topology=v5e:2x4

Each preset is the toy_arith run config with a model from configs/models.py and the
shapes of a MATH-style ReST-EM run (Singh et al. 2024, section 5): N=32 samples per
problem, prompts up to 1,024 tokens (4-shot), 1,024 new tokens, M-step rows of 2,048
tokens, FSDP over every chip for training and weights replicated over fsdp for
sampling. The task and tokenizer are placeholders: this card is for `restem_jax.plan`
(a real run card sets task, tokenizer and base checkpoint). Any field can be
overridden, e.g. --config.train.rows_per_micro=64 --config.mesh.axis_sizes='(1,16,2)'.
Figures: docs/launch.md ("Memory plan").
"""

from restem_jax import config_files


def _load(name):
  return config_files.sibling(__file__, name)


_PRESETS = {
    # model, prompts per decode call (x N samples = rows), rows per micro-batch, accum steps
    "llama3_8b": ("llama-3.1-8b", 32, 32, 4),
    "llama3_1b": ("llama-3.2-1b", 16, 8, 8),
}


def get_config(preset: str = "llama3_8b"):
  if preset not in _PRESETS:
    raise ValueError(f"unknown preset {preset!r} for configs/paper_scale.py; known: "
                     f"{sorted(_PRESETS)}.")
  model, prompts, rows, accum = _PRESETS[preset]
  c = _load("toy_arith").get_config()
  c.model.update(_load("models").MODELS[model])
  c.mesh.update(axis_sizes=(1, -1, 1))   # fsdp over every chip (training); see the rules
  c.train.update(seq_len=2048, rows_per_micro=rows, accum_steps=accum, loss_chunk_len=512)
  c.sampler.update(prompt_buckets=(256, 512, 1024), max_new_tokens=1024,
                   prompts_per_batch=prompts)
  c.estep.update(num_samples=32)
  c.eval.update(num_samples=4, ks=(1, 2, 4))
  return c
