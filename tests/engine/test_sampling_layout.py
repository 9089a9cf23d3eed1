"""Separate sampling and training layouts, and the reshard between E-step and M-step."""

import jax
import numpy as np

from restem_jax.model import interface
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.training.trainer import Trainer, TrainLoopConfig
from tests.engine import toy


def _mesh():
  return mesh_lib.make_mesh(mesh_lib.MeshConfig(axis_sizes=(2, 4, 1)))


def _shardings(mesh, rules):
  return partitioning.param_shardings(lambda k: interface.init_boxed(toy.TOY, k), mesh, rules)


def _uses_fsdp(sharding) -> bool:
  return any(a == "fsdp" or (isinstance(a, tuple) and "fsdp" in a) for a in sharding.spec)


def test_sampler_params_have_the_sampling_shardings_and_sample_the_same():
  mesh = _mesh()
  train_params = toy.init_params(mesh)  # training rules: 'embed' on fsdp
  assert any(_uses_fsdp(x.sharding) for x in jax.tree.leaves(train_params))
  sampler = Sampler(toy.TOY, toy.VOCAB, SamplerConfig(prompt_buckets=(16,), max_new_tokens=6,
                                                      prompts_per_batch=8),
                    mesh, partitioning.SAMPLING_RULES)
  placed = sampler.place(train_params)
  want = _shardings(mesh, partitioning.SAMPLING_RULES)
  jax.tree.map(lambda x, s: np.testing.assert_equal(x.sharding.is_equivalent_to(s, x.ndim), True),
               placed, want)
  assert not any(_uses_fsdp(x.sharding) for x in jax.tree.leaves(placed))
  assert sampler.place(placed)["embedding"] is placed["embedding"]  # no copy when placed
  args = (["1+2=", "30+4="], [0, 1], 2, SamplingParams(0.7, 10, 1.0))
  a = sampler.sample(train_params, *args, seed=0)
  b = sampler.sample(placed, *args, seed=0)
  np.testing.assert_array_equal(a.tokens, b.tokens)


def test_trainer_moves_sampling_layout_params_back_to_training_layout():
  mesh = _mesh()
  sampler_layout = partitioning.reshard(toy.init_params(mesh),
                                        _shardings(mesh, partitioning.SAMPLING_RULES))
  trainer = Trainer(toy.TOY, TrainLoopConfig(rows_per_micro=8), mesh, toy.RULES, sampler_layout)
  want = _shardings(mesh, toy.RULES)
  jax.tree.map(lambda x, s: np.testing.assert_equal(x.sharding.is_equivalent_to(s, x.ndim), True),
               trainer.params, want)
