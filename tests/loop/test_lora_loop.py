"""The ReST-EM loop with LoRA M-steps, end to end at CI size.

Adapter-only checkpoints that point at the base, 'previous' continuing the adapters,
a rerun that reloads every finished stage (merging the saved adapters into the base),
and an evaluation-only run of the adapter checkpoints (merged onto their base).
"""

import dataclasses
import itertools
import json
import shutil

import jax
import ml_collections
import numpy as np
import pytest

from restem_jax import run_config
from restem_jax.checkpoint import adapter_checkpoint, merged_adapter, model_checkpoint
from restem_jax.checkpoint.manager import CheckpointError
from restem_jax.loop import mstep, runner
from restem_jax.loop.evaluation import policy_eval
from restem_jax.model import interface
from restem_jax.sharding import partitioning
from restem_jax.training import lora
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

  _eval_only_merges_the_adapters(c, summary, base_dir, tmp_path, monkeypatch)


def _eval_only_merges_the_adapters(c, summary, base_dir, tmp_path, monkeypatch):  # noqa: F811
  """loop.mode='eval' on iter_1/policy (adapters) and the base (a whole model), with no
  config.train.lora: the adapter dir is evaluated as base + its adapters, merged."""
  policy1 = str(tmp_path / "iter_1" / "policy")
  seen = []
  real = policy_eval.evaluate_policy
  monkeypatch.setattr(policy_eval, "evaluate_policy", lambda run, params, pool: (
      seen.append(jax.tree.map(np.asarray, params)) or real(run, params, pool)))
  e = make_config(base_dir, loop=dict(mode="eval", checkpoints=(policy1, base_dir)))
  got = runner.run(typed(e), str(tmp_path / "eval"))
  c = typed(c)
  mesh, rules = mesh_lib.make_mesh(run_config.mesh_config(c)), run_config.logical_rules(c)
  model_cfg = run_config.model_config(c)
  base, _ = model_checkpoint.restore(base_dir, model_cfg, mesh, rules)
  adapters, _ = adapter_checkpoint.restore(policy1, model_cfg, run_config.lora_config(c), mesh,
                                           rules)
  jax.tree.map(np.testing.assert_array_equal, seen[0],
               jax.tree.map(np.asarray, lora.merge(model_cfg, run_config.lora_config(c), base,
                                                   adapters)))
  assert not np.array_equal(seen[0]["block_0"]["attn"]["wq"], seen[1]["block_0"]["attn"]["wq"])
  rows = got["checkpoints"]
  assert rows[0]["test_pass1"] == summary["iterations"][0]["test_pass1"]
  assert rows[1]["test_pass1"] == summary["base"]["test_pass1"]

  # A dangling or wrong base pointer is refused, naming adapter.json, before any weight.
  bad = tmp_path / "moved_policy"
  shutil.copytree(policy1, bad)
  info_file = bad / adapter_checkpoint.ADAPTER_FILE
  for base_ptr, why in [(str(tmp_path / "gone"), "does not exist"),
                        (policy1, "itself an adapter checkpoint"), ("", "no base_checkpoint")]:
    info_file.write_text(json.dumps({**adapter_checkpoint.read_info(policy1),
                                     "base_checkpoint": base_ptr}))
    with pytest.raises(CheckpointError, match=f"adapter.json.*{why}"):
      merged_adapter.restore(str(bad), model_cfg, mesh, rules)
  # A base of another architecture: the base's model_config.json disagrees with the run's.
  other_cfg = dataclasses.replace(model_cfg, mlp_dim=2 * model_cfg.mlp_dim)
  other, _, _ = partitioning.init_sharded(lambda k: interface.init_boxed(other_cfg, k),
                                          jax.random.key(0), mesh, rules)
  model_checkpoint.save(str(tmp_path / "other_base"), other, other_cfg)
  info_file.write_text(json.dumps({**adapter_checkpoint.read_info(policy1),
                                   "base_checkpoint": str(tmp_path / "other_base")}))
  with pytest.raises(ValueError, match="mlp_dim"):
    merged_adapter.restore(str(bad), model_cfg, mesh, rules)
