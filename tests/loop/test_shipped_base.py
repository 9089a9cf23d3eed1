"""The shipped-base mechanism at CI size: packed params round trip and hash, install into
W/base when the run's recipe is the recorded one, pretraining when it is not (another
task.seed, another corpus, use_shipped=False).

A tiny random base is packed here as a stand-in for restem_jax/data/toy_base (its recipe
is the tiny preset's), so the tests run in seconds.
"""

import importlib.util
import os

import flax.linen as nn
import jax
import numpy as np
import pytest

from restem_jax import run_config
from restem_jax.checkpoint import manager, packed_params
from restem_jax.data.char_vocab import CharVocabulary
from restem_jax.loop import base_model, shipped_base
from restem_jax.model import interface, layer_stack
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.tasks import toy_arith
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("toy_arith_card",
                                               os.path.join(REPO, "configs", "toy_arith.py"))
card = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(card)


def tiny(**task):
  c = card.get_config("tiny")
  c.task.update(task)
  return c


def ensure(c, workdir):
  rc = typed(c)
  return base_model.ensure_base(rc, str(workdir), CharVocabulary(),
                                mesh_lib.make_mesh(run_config.mesh_config(rc)),
                                run_config.logical_rules(rc))


@pytest.fixture(name="packed_dir")
def fixture_packed_dir(tmp_path, monkeypatch):
  """A packed random base made with the tiny preset's recipe, as the package's shipped one."""
  c = tiny()
  rc = typed(c)
  model_cfg = run_config.model_config(rc)
  params = nn.meta.unbox(interface.init_boxed(model_cfg, jax.random.key(7)))
  disk = layer_stack.of(model_cfg).to_disk(model_cfg, params)
  out = str(tmp_path / "toy_base")
  packed_params.write(out, disk, model_cfg, recipe=base_model.recipe(rc, base_model.corpus(rc)),
                      meta={"note": "random"})
  monkeypatch.setattr(shipped_base, "TOY_BASE_DIR", out)
  return out


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_packed_round_trip_and_hash(packed_dir):
  params, packed = packed_params.read(packed_dir)
  assert packed.meta == {"note": "random"} and packed.recipe["task_seed"] == 0
  assert all(x.dtype == np.float32 for x in _leaves(params))
  path = os.path.join(packed_dir, packed_params.PARAMS_FILE)
  data = bytearray(open(path, "rb").read())
  data[-1] ^= 1
  open(path, "wb").write(bytes(data))
  with pytest.raises(manager.CheckpointError, match="sha256"):
    packed_params.read(packed_dir)


def test_matching_recipe_installs_the_shipped_base(packed_dir, tmp_path):
  params, _, meta = ensure(tiny(), tmp_path / "run")
  assert meta["shipped_base"] == packed_dir and meta["note"] == "random"
  assert manager.has_checkpoint(str(tmp_path / "run" / "base"))
  assert not os.path.exists(tmp_path / "run" / "pretrain_history.json")
  stored, _ = packed_params.read(packed_dir)
  for a, b in zip(_leaves(params), _leaves(stored)):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change", ["task_seed", "documents", "use_shipped_false"])
def test_other_recipe_pretrains(packed_dir, tmp_path, change):
  c = tiny()
  if change == "task_seed":
    c.task.seed = 1
  elif change == "documents":
    c.base.pretrain_documents += 1
  else:
    c.base.use_shipped = False
  _, _, meta = ensure(c, tmp_path / "run")
  assert "shipped_base" not in meta
  assert meta["pretrain_steps"] == c.base.pretrain_steps
  assert os.path.exists(tmp_path / "run" / "pretrain_history.json")


def test_mismatch_names_the_field(packed_dir):
  packed = packed_params.read_manifest(packed_dir)
  c = tiny(seed=1)
  rc = typed(c)
  why = shipped_base.mismatch(base_model.recipe(rc, base_model.corpus(rc)),
                              run_config.model_config(rc), packed)
  assert why.startswith("corpus_sha256")  # first in name order; task_seed differs too
  c = tiny()
  c.model.num_layers = 2
  rc = typed(c)
  why = shipped_base.mismatch(base_model.recipe(rc, base_model.corpus(rc)),
                              run_config.model_config(rc), packed)
  assert why.startswith("model.num_layers")


def test_a_seed0_corpus_holds_other_seeds_held_out_problems():
  """Why another task.seed must never use the seed-0 base: its corpus has that seed's
  validation/test expressions (the corpus only avoids its own seed's splits)."""
  corpus = {t.split("\n")[0] for t in toy_arith.pretraining_texts(0, 20_000, 0.6)}
  assert corpus & _held_out_prompts(1) and not corpus & _held_out_prompts(0)


def _held_out_prompts(seed):
  return {toy_arith.prompt_text(e).split("\n")[0] for s in ("validation", "test")
          for e in toy_arith._expressions_of(s, seed)}  # pylint: disable=protected-access
