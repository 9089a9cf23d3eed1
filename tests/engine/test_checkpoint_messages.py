"""Errors a user meets when the base (or teacher) checkpoint is missing (each names the
config field to change and the path it holds), or when its params cannot be laid out on
the run's mesh (named before any weight is read, not reported as a corrupt checkpoint)."""

import dataclasses
import re

import pytest

from restem_jax.checkpoint import manager, model_checkpoint, model_spec
from restem_jax.sharding import mesh as mesh_lib
from tests.engine import toy
from tests.typed_config import unset_model_fields


def _unset():
  return unset_model_fields(embed_dim=64).to_dict()


def test_no_checkpoint_names_config_base_checkpoint():
  with pytest.raises(ValueError) as err:
    model_checkpoint.model_config_for(_unset(), None)
  msg = str(err.value)
  assert "config.base.checkpoint is empty" in msg and "--config.base.checkpoint=CKPT" in msg, msg
  assert "restem_jax.convert import" in msg, msg


def test_missing_checkpoint_path_names_the_field_and_the_path(tmp_path):
  path = str(tmp_path / "no_such_ckpt")
  with pytest.raises(ValueError) as err:
    model_checkpoint.model_config_for(_unset(), path)
  assert re.search(rf"config\.base\.checkpoint='{re.escape(path)}' does not exist",
                   str(err.value)), err.value


def test_checkpoint_without_model_config_names_the_field_and_the_path(tmp_path):
  with pytest.raises(ValueError) as err:
    model_checkpoint.model_config_for(_unset(), str(tmp_path))
  assert f"config.base.checkpoint='{tmp_path}' has no model_config.json" in str(err.value)


def test_teacher_section_names_config_teacher_checkpoint(tmp_path):
  path = str(tmp_path / "gone")
  with pytest.raises(ValueError) as err:
    model_checkpoint.model_config_for(_unset(), path, section="teacher.model")
  msg = str(err.value)
  assert f"config.teacher.checkpoint='{path}' does not exist" in msg, msg
  assert "config.teacher.model leaves" in msg and "base.checkpoint" not in msg, msg


# ------------------------------------------------ a mesh that cannot hold the params


def _mesh(sizes):
  return mesh_lib.make_mesh(mesh_lib.MeshConfig(axis_sizes=sizes))


@pytest.fixture(scope="module")
def odd_vocab_ckpt(tmp_path_factory):
  """A toy checkpoint with vocab_size 99 (untied lm_head: 'vocab' sharded over tensor)."""
  cfg = dataclasses.replace(toy.TOY, vocab_size=99)
  path = str(tmp_path_factory.mktemp("odd_vocab") / "ckpt")
  model_checkpoint.save(path, toy.init_params(toy.one_device_mesh(), cfg), cfg)
  return path, cfg


def test_vocab_not_dividing_the_mesh_is_named_before_any_weight_is_read(odd_vocab_ckpt,
                                                                        monkeypatch):
  path, cfg = odd_vocab_ckpt
  def no_read(*args, **kwargs):
    raise AssertionError("weights were read")
  monkeypatch.setattr(manager, "restore_params", no_read)
  with pytest.raises(ValueError) as err:
    model_checkpoint.restore(path, cfg, _mesh((4, 1, 2)), toy.RULES)
  msg = str(err.value)
  assert "vocab_size=99" in msg and "tensor=2" in msg and "99 % 2 = 1" in msg, msg
  assert "config.mesh.axis_sizes" in msg and "missing or corrupt" not in msg, msg


def test_vocab_that_divides_the_mesh_restores(odd_vocab_ckpt):
  path, cfg = odd_vocab_ckpt  # fsdp=2 shards the embed dim (64), not the vocabulary
  params, _ = model_checkpoint.restore(path, cfg, _mesh((4, 2, 1)), toy.RULES)
  assert params["lm_head"].shape == (cfg.embed_dim, 99)


def test_other_param_dims_that_do_not_divide_are_named():
  cfg = dataclasses.replace(toy.TOY, mlp_dim=101)  # vocab 128 and heads divide tensor=2
  with pytest.raises(ValueError, match=r"logical axis 'mlp', size 101\) cannot be split into "
                                       r"the 2 shards of mesh axes \('tensor',\)"):
    model_checkpoint.abstract_params(cfg, _mesh((4, 1, 2)), toy.RULES)


def test_stacked_layers_do_not_hide_an_odd_vocab():
  cfg = dataclasses.replace(toy.TOY, vocab_size=99, scan_layers=True)
  with pytest.raises(ValueError, match=r"vocab_size=99 cannot be sharded .* tensor=2"):
    model_checkpoint.abstract_params(cfg, _mesh((4, 1, 2)), toy.RULES)
  model_checkpoint.abstract_params(cfg, _mesh((4, 2, 1)), toy.RULES)  # stacked axis unsharded
