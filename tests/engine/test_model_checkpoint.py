"""Self-describing checkpoints: config + tokenizer travel with the params; clear mismatch errors."""

import dataclasses
import json
import os

import jax
import ml_collections
import numpy as np
import pytest
import tokenizers

from restem_jax import run_config
from restem_jax.checkpoint import manager, model_checkpoint, model_spec
from tests.engine import toy
from tests.typed_config import typed, unset_model_fields


def _equal(a, b):
  return all(jax.tree.leaves(jax.tree.map(lambda x, y: np.array_equal(x, y), a, b)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
  """A toy checkpoint with tokenizer files, saved from one device."""
  root = tmp_path_factory.mktemp("ckpt")
  tok = root / "tok_src"
  tok.mkdir()
  word_level = tokenizers.Tokenizer(tokenizers.models.WordLevel(
      {"<pad>": 0, "</s>": 1, "a": 2, "b": 3}, unk_token="<pad>"))
  word_level.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
  word_level.save(str(tok / "tokenizer.json"))
  (tok / "tokenizer_config.json").write_text('{"eos_token": "</s>", "pad_token": "<pad>"}')
  (tok / "model.safetensors").write_text("not a tokenizer file")
  params = toy.init_params(toy.one_device_mesh(), seed=5)
  path = str(root / "ckpt")
  model_checkpoint.save(path, params, toy.TOY, tokenizer_dir=str(tok), meta={"source": "test"})
  return path, params


def test_save_writes_config_and_tokenizer_and_restores_sharded(saved):
  path, params = saved
  assert model_checkpoint.read_model_config(path) == toy.TOY
  tok_dir = model_checkpoint.tokenizer_dir(path)
  assert sorted(os.listdir(tok_dir)) == ["tokenizer.json", "tokenizer_config.json"]
  mesh = toy.eight_device_mesh()
  restored, meta = model_checkpoint.restore(path, toy.TOY, mesh, toy.RULES)
  assert meta == {"source": "test"} and _equal(restored, params)
  want = model_checkpoint.abstract_params(toy.TOY, mesh, toy.RULES)
  got = jax.tree.map(lambda x: x.sharding, restored)
  assert got == jax.tree.map(lambda x: x.sharding, want)
  # The fsdp/tensor rules really shard the big matrices over the 8 devices.
  wq = restored["block_0"]["attn"]["wq"]
  assert len({str(s.index) for s in wq.addressable_shards}) > 1


def test_abstract_params_runs_no_initialiser():
  abstract = model_checkpoint.abstract_params(toy.TOY, toy.one_device_mesh(), toy.RULES)
  leaves = jax.tree.leaves(abstract)
  assert leaves and all(isinstance(x, jax.ShapeDtypeStruct) for x in leaves)
  assert abstract["block_0"]["mlp"]["w_gate"].shape == (toy.TOY.embed_dim, toy.TOY.mlp_dim)


def test_shape_mismatch_names_the_parameter_and_both_shapes(tmp_path):
  params = toy.init_params(toy.one_device_mesh())
  path = str(tmp_path / "legacy")
  manager.save_params(path, params)  # no model_config.json: the shape check must catch it
  wider = dataclasses.replace(toy.TOY, mlp_dim=96)
  with pytest.raises(manager.CheckpointError,
                     match=r"block_0/mlp/w_gate: checkpoint \(64, 128\) vs expected \(64, 96\)"):
    model_checkpoint.restore(path, wider, toy.one_device_mesh(), toy.RULES)


def test_restore_with_a_disagreeing_config_names_the_field(saved):
  path, _ = saved
  with pytest.raises(model_spec.ModelConfigMismatchError, match=r"rope_theta=500000\.0.*10000"):
    model_checkpoint.restore(path, dataclasses.replace(toy.TOY, rope_theta=500_000.0),
                             toy.one_device_mesh(), toy.RULES)


def test_missing_or_corrupt_model_config_names_the_path(tmp_path, saved):
  with pytest.raises(manager.CheckpointError, match=f"{tmp_path}/nothing/model_config.json"):
    model_checkpoint.read_model_config(str(tmp_path / "nothing"))
  bad = tmp_path / "bad"
  bad.mkdir()
  (bad / "model_config.json").write_text("{not json")
  with pytest.raises(manager.CheckpointError, match=f"{bad}/model_config.json is corrupt"):
    model_checkpoint.read_model_config(str(bad))
  (bad / "model_config.json").write_text(json.dumps({"embed_dim": 8, "n_experts": 4}))
  with pytest.raises(manager.CheckpointError, match="n_experts"):
    model_checkpoint.read_model_config(str(bad))


def test_unset_fields_come_from_the_checkpoint_and_set_ones_must_agree(saved):
  path, _ = saved
  cfg = model_checkpoint.model_config_for(unset_model_fields().to_dict(), path)
  assert cfg == toy.TOY
  # Runtime fields override; architecture fields that agree are fine.
  values = unset_model_fields(dtype="bfloat16", max_len=64,
                                         num_layers=toy.TOY.num_layers).to_dict()
  cfg = model_checkpoint.model_config_for(values, path)
  assert (cfg.dtype, cfg.max_len, cfg.embed_dim) == ("bfloat16", 64, toy.TOY.embed_dim)
  values["norm_eps"] = 1e-5
  with pytest.raises(model_spec.ModelConfigMismatchError,
                     match=r"config\.teacher\.model\.norm_eps=1e-05 disagrees"):
    model_checkpoint.model_config_for(values, path, section="teacher.model")


def test_unset_fields_without_a_checkpoint_config_are_named(tmp_path):
  values = unset_model_fields(embed_dim=64).to_dict()
  with pytest.raises(ValueError, match=r"leaves \[.*'head_dim'.*\] unset"):
    model_checkpoint.model_config_for(values, None)
  with pytest.raises(ValueError, match="has no model_config.json"):
    model_checkpoint.model_config_for(values, str(tmp_path))


def test_unset_model_fields_stay_typed_for_command_line_overrides():
  cd = unset_model_fields()
  cd.embed_dim = 32
  with pytest.raises(TypeError):
    cd.num_layers = "three"
  locked = ml_collections.ConfigDict({"model": unset_model_fields()})
  locked.lock()
  with pytest.raises(AttributeError):
    locked.model.embed_dimm = 3


def test_run_config_takes_architecture_and_tokenizer_from_the_base_checkpoint(saved):
  path, _ = saved
  c = ml_collections.ConfigDict({"model": unset_model_fields(dtype="float32"),
                                 "base": {"checkpoint": path}, "task": {"vocab": ""}})
  assert run_config.model_config(typed(c)) == toy.TOY
  vocab = run_config.vocabulary(typed(c))
  assert (list(vocab.encode_prompt("a b")), vocab.eos_id) == ([2, 3], 1)
  c.base.checkpoint = ""
  assert run_config.vocabulary(typed(c)).encode_prompt("a b") != [2, 3]  # the toy char vocabulary
  c.base.checkpoint = path
  c.model.head_dim = 32
  with pytest.raises(model_spec.ModelConfigMismatchError, match=r"config\.model\.head_dim=32"):
    run_config.model_config(typed(c))
