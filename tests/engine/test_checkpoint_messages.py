"""Errors a user meets when the base (or teacher) checkpoint is missing: each names the
config field to change and the path it holds."""

import re

import pytest

from restem_jax.checkpoint import model_checkpoint, model_spec


def _unset():
  return model_spec.unset_model_fields(embed_dim=64).to_dict()


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
