"""The run config's schema against the run cards: unchanged dicts, complete keys, one build.

Every card and preset (configs/*.py; the presets each get_config accepts) must
  * still produce exactly the dict it produced before the typed RunConfig
    (tests/fixtures/card_dicts.json), except the fields `schema_dict.complete` added so the
    command line can override them, listed in ADDED with their defaults;
  * hold exactly the schema's field paths as leaf keys (nothing unknown, nothing missing),
    so every field is overridable with --config.x.y;
  * build into a RunConfig with `schema.build`, as main.py does.

Regenerate the snapshot only when a card's values change on purpose:
  PYTHONPATH=$PWD python tools/dump_card_dicts.py
"""

import ast
import dataclasses
import json
import os
import sys
import typing

import pytest
from absl import flags
from ml_collections import config_flags

from restem_jax import config_files
from restem_jax.config import schema
from restem_jax.loop import manifest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAPSHOT = os.path.join(REPO, "tests", "fixtures", "card_dicts.json")
# Fields no card set before the schema completed the cards (their defaults as JSON).
ADDED = {
    "model.qk_norm": False, "model.qkv_bias": False, "model.rope_factor": 1.0,
    "model.rope_high_freq_factor": 4.0, "model.rope_low_freq_factor": 1.0,
    "model.rope_original_max_len": 0, "model.rope_type": "default",
    "model.scan_layers": False, "model.sliding_window": 0,
    "mstep.b1": 0.9, "mstep.b2": 0.95, "mstep.decay_steps": 0, "mstep.end_lr_fraction": 0.1,
    "mstep.grad_clip_norm": 1.0, "sampler.engine": "cascade",
    "sampler.params_dtype": "", "sampler.kv_cache_dtype": "", "train.lora.dropout": 0.0,
}
MAPPING_LEAVES = ("task.chat_template_kwargs", "eval.transfer_tasks")


TOOL = config_files.sibling(os.path.join(REPO, "tools", "dump_card_dicts.py"), "dump_card_dicts")
CARDS = TOOL.card_dicts()


def _leaves(d, prefix=""):
  out = {}
  for k, v in d.items():
    path = f"{prefix}.{k}" if prefix else k
    if isinstance(v, dict) and path not in MAPPING_LEAVES:
      out.update(_leaves(v, path))
    else:
      out[path] = v
  return out


def _schema_paths(cls, prefix=""):
  out = set()
  hints = typing.get_type_hints(cls)
  for f in dataclasses.fields(cls):
    path = f"{prefix}.{f.name}" if prefix else f.name
    if dataclasses.is_dataclass(hints[f.name]):
      out |= _schema_paths(hints[f.name], path)
    else:
      out.add(path)
  return out


def test_snapshot_covers_every_card_and_preset():
  with open(SNAPSHOT) as f:
    assert sorted(json.load(f)) == sorted(CARDS)
  assert len(CARDS) >= 30 and "toy_arith:tiny" in CARDS and "math:llama3_8b_tpu" in CARDS


@pytest.mark.parametrize("name", sorted(CARDS))
def test_card_dict_is_unchanged_but_for_the_added_fields(name):
  with open(SNAPSHOT) as f:
    old = _leaves(json.load(f)[name])
  new = _leaves(CARDS[name])
  assert {k: v for k, v in new.items() if k in old} == old
  added = {k: v for k, v in new.items() if k not in old}
  assert added == {k: ADDED[k] for k in added}, "a field not in ADDED appeared"


@pytest.mark.parametrize("name", sorted(CARDS))
def test_card_keys_are_the_schema_fields_and_build(name, tmp_path):
  assert set(_leaves(CARDS[name])) == _schema_paths(schema.RunConfig)
  rc = schema.build(CARDS[name])
  assert isinstance(rc, schema.RunConfig)
  # The RunConfig's manifest JSON holds the card's values (tuples as lists) ...
  recorded = _leaves(manifest.config_json(rc))
  card = _leaves(json.loads(json.dumps(CARDS[name])))
  for key, value in card.items():
    if key not in MAPPING_LEAVES:
      assert recorded[key] == value, key
  # ... so a run dir the card's ConfigDict started (the old manifest) resumes.
  manifest.Manifest(str(tmp_path), CARDS[name]).mark("base", {}, 1.0)
  assert manifest.Manifest(str(tmp_path), manifest.config_json(rc),
                           defaults=manifest.config_json(schema.defaults_for(rc))).done("base")


def _parse(*overrides, card="configs/toy_arith.py:tiny"):
  fv = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, flag_values=fv, lock_config=True)
  argv = ["prog", f"--config={os.path.join(REPO, card)}", *overrides]
  real, sys.argv = sys.argv, argv  # config_flags reads the overrides from sys.argv
  try:
    fv(argv)
  finally:
    sys.argv = real
  return schema.build(fv.config.to_dict())


def test_fields_no_card_sets_are_overridable_on_the_command_line():
  rc = _parse("--config.sampler.engine=repeat", "--config.mstep.b1=0.8",
              "--config.mstep.grad_clip_norm=0.5", "--config.model.scan_layers=True")
  assert (rc.sampler.engine, rc.mstep.b1, rc.mstep.grad_clip_norm, rc.model.scan_layers) == (
      "repeat", 0.8, 0.5, True)
  from restem_jax import run_config  # pylint: disable=import-outside-toplevel
  _, train = run_config.mstep_config(rc)
  assert (train.optimizer.b1, train.optimizer.grad_clip_norm) == (0.8, 0.5)
  assert run_config.sampler_config(rc).engine == "repeat"
  rc = _parse("--config.model.num_layers=7", card="configs/smollm2_arith.py:tiny")
  assert rc.model.num_layers == 7 and rc.model.embed_dim is None  # unset: from the checkpoint


def test_a_stored_config_without_the_added_fields_resumes(tmp_path):
  """A run dir made before the schema completed the cards resumes; a changed field does not."""
  with open(SNAPSHOT) as f:
    old = json.load(f)["toy_arith:tiny"]
  manifest.Manifest(str(tmp_path), old).mark("base", {}, 1.0)
  rc = schema.build(CARDS["toy_arith:tiny"])
  defaults = manifest.config_json(schema.defaults_for(rc))
  m = manifest.Manifest(str(tmp_path), manifest.config_json(rc), defaults=defaults)
  assert m.done("base")
  changed = dataclasses.replace(rc, mstep=dataclasses.replace(rc.mstep, b1=0.5))
  with pytest.raises(ValueError, match=r"mstep\.b1: 0\.9 -> 0\.5"):
    manifest.Manifest(str(tmp_path), manifest.config_json(changed), defaults=defaults)


def _imports(path):
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      yield node.module


def _attributes(path):
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def test_no_config_dict_below_the_entry_points():
  """Only main.py and plan.py parse a card; the package below them never imports
  ml_collections or calls ConfigDict methods (to_dict, unlocked, get_ref)."""
  entry = {os.path.join(REPO, "restem_jax", n) for n in ("main.py", "plan.py")}
  bad = []
  for root, _, files in os.walk(os.path.join(REPO, "restem_jax")):
    for name in files:
      path = os.path.join(root, name)
      if not name.endswith(".py") or path in entry:
        continue
      if any(m.split(".")[0] == "ml_collections" for m in _imports(path)):
        bad.append(f"{os.path.relpath(path, REPO)} imports ml_collections")
      if _attributes(path) & {"to_dict", "unlocked", "get_ref", "ConfigDict"}:
        bad.append(f"{os.path.relpath(path, REPO)} uses a ConfigDict method")
  assert not bad, "\n".join(bad)
