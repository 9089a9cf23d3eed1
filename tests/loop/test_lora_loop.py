"""The ReST-EM loop with LoRA M-steps, end to end at CI size.

Adapter-only checkpoints that point at the base, 'previous' continuing the adapters,
and a rerun that reloads every finished stage (merging the saved adapters into the base).
"""

import itertools

import jax
import ml_collections
import numpy as np

from restem_jax import run_config
from restem_jax.checkpoint import adapter_checkpoint, model_checkpoint
from restem_jax.loop import mstep, runner
from restem_jax.sharding import mesh as mesh_lib
from tests.loop.test_runner import _comparable, base_dir, make_config  # noqa: F401 (fixture)
from tests.typed_config import typed


def test_lora_restem_end_to_end(base_dir, tmp_path, monkeypatch):  # noqa: F811
  tunings = []
  real = mstep.run_mstep

  def spy(*a, tuning=None, **k):
    tunings.append(None if tuning.adapters is None else
                   jax.tree.map(np.asarray, tuning.adapters))
    return real(*a, tuning=tuning, **k)

  monkeypatch.setattr(mstep, "run_mstep", spy)
  # A validation reward that rises with every evaluation: each M-step returns trained adapters.
  monkeypatch.setattr(runner.Run, "val_reward_fn",
                      lambda self, pool, n=itertools.count(): lambda params: next(n) / 1e3)
  c = make_config(base_dir, loop=dict(num_iterations=2, init_from="previous"),
                  mstep=dict(max_steps=6, eval_every=3))
  c.train.lora = ml_collections.ConfigDict(dict(rank=4, alpha=8.0, targets=("q", "v", "up")))
  summary = runner.run(typed(c), str(tmp_path))
  assert [it["updated"] for it in summary["iterations"]] == [True, True]

  policy1 = str(tmp_path / "iter_1" / "policy")
  assert adapter_checkpoint.is_adapter_checkpoint(policy1)
  assert not model_checkpoint.has_model_config(policy1)  # adapters only, no model copy
  info = adapter_checkpoint.read_info(policy1)
  assert info["base_checkpoint"] == base_dir and info["targets"] == ["q", "v", "up"]
  # Iteration 1 starts fresh; iteration 2 continues exactly iteration 1's saved adapters.
  assert tunings[0] is None
  saved, _ = adapter_checkpoint.restore(
      policy1, run_config.model_config(typed(c)), run_config.lora_config(typed(c)),
      mesh_lib.make_mesh(run_config.mesh_config(typed(c))), run_config.logical_rules(typed(c)))
  jax.tree.map(np.testing.assert_array_equal, tunings[1], jax.tree.map(np.asarray, saved))
  assert float(np.abs(tunings[1]["block_0"]["attn"]["wq_b"]).max()) > 0  # really trained

  # A rerun finds every stage done: it reloads base + adapters and gives the same summary.
  again = runner.run(typed(c), str(tmp_path))
  assert _comparable(again, tmp_path) == _comparable(summary, tmp_path)
