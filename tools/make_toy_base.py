r"""Makes the pretrained toy base that ships with the package (restem_jax/data/toy_base).

  PYTHONPATH=$PWD python tools/make_toy_base.py --out=restem_jax/data/toy_base \
      --workdir=/tmp/toy_base_work

Runs the toy card's pretraining (configs/toy_arith.py defaults, task.seed 0: the same
`restem_jax.loop.base_model` code the main job runs when W/base is missing; ~8 min on an
idle 2-vCPU machine) into WORKDIR/base (an existing WORKDIR/base is restored instead of
pretrained again), scores it (greedy pass@1 on the first `shipped_base.SCORE_PROBLEMS` =
64 test problems) and writes OUT/params.safetensors (fp32, ~650 KB) and OUT/manifest.json:
the model config, the recipe (`base_model.recipe`: task, task.seed, corpus fields and
corpus sha256, run seed, pretraining schedule), the score and the params file's sha256.
tests/loop/test_shipped_toy_base.py checks the shipped files against all of this.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=wrong-import-position
from restem_jax import run_config
from restem_jax.checkpoint import packed_params
from restem_jax.config import schema
from restem_jax.loop import base_model, shipped_base
from restem_jax.loop.evaluation import greedy_eval
from restem_jax.model import layer_stack
from restem_jax.sampling.sampler import Sampler
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.tasks import registry
from restem_jax.verify.pool import VerifierPool
from restem_jax.verify.sandbox_config import SandboxConfig

_OUT = flags.DEFINE_string("out", os.path.join(REPO, "restem_jax", "data", "toy_base"),
                           "Packed output dir.")
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/toy_base_work",
                               "Run dir of the pretraining (WORKDIR/base).")


def card_config():
  """configs/toy_arith.py's defaults as a RunConfig, with the shipped base turned off
  (pretrain it)."""
  spec = importlib.util.spec_from_file_location(
      "toy_arith_card", os.path.join(REPO, "configs", "toy_arith.py"))
  card = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(card)
  c = card.get_config()
  c.base.use_shipped = False
  return schema.build(c.to_dict())


def score(c, params, vocab, mesh) -> float:
  """Greedy pass@1 of `params` on the card task's first SCORE_PROBLEMS test problems."""
  problems = registry.load_problems(c.task.name, "test", seed=c.task.seed,
                                    limit=shipped_base.SCORE_PROBLEMS)
  sampler = Sampler(run_config.model_config(c), vocab, run_config.sampler_config(c), mesh,
                    run_config.sampling_rules(c))
  with VerifierPool(1, c.verifier.timeout_s,
                    sandbox=SandboxConfig(cpu_time_s=c.verifier.cpu_time_s)) as pool:
    return greedy_eval.greedy_pass1(params, problems, sampler, pool, seed=c.seed)["pass1"]


def main(argv):
  del argv
  c = card_config()
  vocab = run_config.vocabulary(c)
  mesh = mesh_lib.make_mesh(run_config.mesh_config(c))
  params, _, meta = base_model.ensure_base(c, _WORKDIR.value, vocab, mesh,
                                           run_config.logical_rules(c))
  model_cfg = run_config.model_config(c)
  texts = base_model.corpus(c)
  # pretrain_seconds is left out: it depends on the machine and its load, not on the base
  meta = {k: meta[k] for k in ("pretrain_steps", "first_loss", "final_loss", "num_params")}
  meta[shipped_base.SCORE_KEY] = score(c, params, vocab, mesh)
  disk = layer_stack.of(model_cfg).to_disk(model_cfg, params)
  packed = packed_params.write(_OUT.value, disk, model_cfg,
                               recipe=base_model.recipe(c, texts), meta=meta)
  print(f"wrote {_OUT.value}: sha256 {packed.sha256}, meta {packed.meta}")


if __name__ == "__main__":
  app.run(main)
