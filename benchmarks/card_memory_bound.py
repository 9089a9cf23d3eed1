"""A run card's memory bound and its M-step train step's XLA temporaries, compiled abstractly.

  python benchmarks/card_memory_bound.py --card configs/smollm2_arith.py --base W/base \
      --variant model.scan_layers=False,model.remat=False,train.loss_chunk_len=512

prints, for the card (its preset with `--preset`), the bound the issue sets for peak host
RSS: 2 x (fp32 training state (params, gradients, Adam mu and nu) + sampling params +
the largest decode call's KV cache (E-step, evaluation and greedy decodes, as the
Sampler's engine allocates them)), then the compiled train step's `memory_analysis()`
(arguments and temporaries) for the card and for each `--variant` (comma-separated
`model.<field>=<python literal>` / `train.<field>=<python literal>` overrides). Nothing is
allocated: the programs are lowered on abstract params (restem_jax/aot/programs.py), so
a 0.5B card's plan needs ~1.5 GB of RSS. `--base`: a checkpoint directory whose
model_config.json gives the architecture (e.g. a run's W/base).
"""

import argparse
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402

from restem_jax import config_files, run_config  # noqa: E402
from restem_jax.aot import programs  # noqa: E402
from restem_jax.checkpoint import model_checkpoint  # noqa: E402
from restem_jax.config import schema  # noqa: E402
from restem_jax.sharding import mesh as mesh_lib  # noqa: E402


def load_card(path: str, preset: str, base: str):
  card = config_files.sibling(path, os.path.splitext(os.path.basename(path))[0])
  c = card.get_config(preset)
  c.base.checkpoint = base
  return schema.build(c.to_dict())  # the typed RunConfig, as main.py builds it


def bound_bytes(c, model_cfg, mesh, rules) -> dict:
  params = model_checkpoint.abstract_params(model_cfg, mesh, rules)
  pbytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(params))
  sampler = run_config.sampler_config(c)
  samples = {"estep": run_config.estep_config(c).num_samples,
             "eval": max(run_config.eval_config(c).num_samples, 1), "greedy": 1}
  kv = {k: programs.decode_cache_bytes(model_cfg, sampler, mesh, num_samples=n)
        for k, n in samples.items()}
  state = 4 * pbytes  # fp32 params + gradients + Adam mu + nu
  return {"params": pbytes, "train_state": state, "kv": kv,
          "bound": 2 * (state + pbytes + max(kv.values()))}


def variant(model_cfg, train_cfg, spec: str):
  model_kw, train_kw = {}, {}
  for item in filter(None, spec.split(",")):
    key, value = item.split("=", 1)
    section, field = key.split(".", 1)
    if section not in ("model", "train"):
      raise ValueError(f"--variant {item!r}: expected model.<field>=... or train.<field>=...")
    (model_kw if section == "model" else train_kw)[field] = eval(value)  # pylint: disable=eval-used
  return (dataclasses.replace(model_cfg, **model_kw), dataclasses.replace(train_cfg, **train_kw))


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--card", required=True)
  ap.add_argument("--preset", default="")
  ap.add_argument("--base", required=True, help="checkpoint dir with model_config.json")
  ap.add_argument("--variant", action="append", default=[])
  args = ap.parse_args()
  c = load_card(args.card, args.preset, args.base)
  model_cfg = run_config.model_config(c)
  _, train_cfg = run_config.mstep_config(c)
  mesh, rules = mesh_lib.make_mesh(run_config.mesh_config(c)), run_config.logical_rules(c)
  b = bound_bytes(c, model_cfg, mesh, rules)
  kv = ", ".join(f"{k} {v / 1e9:.3f}" for k, v in b["kv"].items())
  print(f"# {args.card}:{args.preset} params {b['params'] / 1e9:.3f} GB fp32 "
        f"({b['params'] // 4 / 1e6:.1f}M), training state {b['train_state'] / 1e9:.2f} GB, "
        f"KV cache per decode call: {kv} GB")
  print(f"BOUND peak_rss_bytes<={b['bound']} ({b['bound'] / 1e9:.2f} GB)")
  for spec in [""] + args.variant:
    m, t = variant(model_cfg, train_cfg, spec)
    lowered, _, _ = programs.train_program(m, t, mesh, rules)  # (program, state, frozen)
    ma = lowered.compile().memory_analysis()
    print(f"TRAIN_STEP {spec or 'card'}: scan_layers={m.scan_layers} remat={m.remat} "
          f"loss_chunk_len={t.loss_chunk_len} temp {ma.temp_size_in_bytes / 1e9:.2f} GB "
          f"arguments {ma.argument_size_in_bytes / 1e9:.2f} GB", flush=True)


if __name__ == "__main__":
  main()
