"""The toy base that ships in restem_jax/data/toy_base: its hash, its recipe (the toy card's
defaults, task.seed 0) and its score as configs/toy_arith.py's docstring states it.

Restoring it and greedy-decoding the first 64 test problems takes about a minute on CPU.
"""

import importlib.util
import os

from restem_jax import run_config
from restem_jax.checkpoint import packed_params
from restem_jax.data.char_vocab import CharVocabulary
from restem_jax.loop import base_model, shipped_base
from restem_jax.loop.evaluation import greedy_eval
from restem_jax.sampling.sampler import Sampler
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.tasks import registry
from restem_jax.verify.pool import VerifierPool
from restem_jax.verify.sandbox_config import SandboxConfig
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(name, path):
  spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


card = _load("toy_arith_card", "configs/toy_arith.py")
CARD_SCORE = 27 / 64  # configs/toy_arith.py's docstring: "... first 64 test problems"


def test_shipped_base_hash_and_recipe_are_the_cards():
  _, packed = packed_params.read(shipped_base.TOY_BASE_DIR)  # raises on a hash mismatch
  c = card.get_config()
  rc = typed(c)
  assert shipped_base.mismatch(base_model.recipe(rc, base_model.corpus(rc)),
                               run_config.model_config(rc), packed) is None
  assert packed.recipe["task_seed"] == 0
  assert packed.meta[shipped_base.SCORE_KEY] == CARD_SCORE
  assert f"{CARD_SCORE:.3f}" in card.__doc__
  size = os.path.getsize(os.path.join(shipped_base.TOY_BASE_DIR, packed_params.PARAMS_FILE))
  assert size < 1_000_000


def test_card_installs_the_shipped_base_and_it_scores_as_stated(tmp_path):
  c = card.get_config()
  vocab = CharVocabulary()
  rc = typed(c)
  mesh = mesh_lib.make_mesh(run_config.mesh_config(rc))
  params, path, meta = base_model.ensure_base(rc, str(tmp_path), vocab, mesh,
                                              run_config.logical_rules(rc))
  assert meta["shipped_base"] == shipped_base.TOY_BASE_DIR and path == str(tmp_path / "base")
  problems = registry.load_problems(c.task.name, "test", seed=c.task.seed,
                                    limit=shipped_base.SCORE_PROBLEMS)
  sampler = Sampler(run_config.model_config(rc), vocab, run_config.sampler_config(rc), mesh,
                    run_config.sampling_rules(rc))
  with VerifierPool(1, c.verifier.timeout_s,
                    sandbox=SandboxConfig(cpu_time_s=c.verifier.cpu_time_s)) as pool:
    result = greedy_eval.greedy_pass1(params, problems, sampler, pool, seed=c.seed)
  assert result["pass1"] == CARD_SCORE
