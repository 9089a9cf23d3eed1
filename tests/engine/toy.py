"""A toy model and helpers shared by the engine tests (width 64, 2 layers)."""

import jax

from restem_jax.data.char_vocab import CharVocabulary
from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning

TOY = ModelConfig(vocab_size=128, embed_dim=64, num_layers=2, num_heads=4, num_kv_heads=2,
                  head_dim=16, mlp_dim=128, max_len=256)
VOCAB = CharVocabulary()
RULES = partitioning.DEFAULT_RULES


def one_device_mesh():
  return mesh_lib.make_mesh(mesh_lib.MeshConfig(), devices=jax.devices()[:1])


def eight_device_mesh():
  return mesh_lib.make_mesh(mesh_lib.MeshConfig(axis_sizes=(2, 2, 2)))


def init_params(mesh, cfg=TOY, seed=0):
  params, _, _ = partitioning.init_sharded(
      lambda k: interface.init_boxed(cfg, k), jax.random.key(seed), mesh, RULES)
  return params
