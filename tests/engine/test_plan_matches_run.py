"""The AOT planner compiles the program the Sampler runs: for each decode engine (cascade,
refill, repeat) the planner's lowered program is the one a real `Sampler.sample` call
lowers, argument shapes and shardings included."""

import difflib

import jax
import pytest

from restem_jax.aot import programs
from restem_jax.model import kv_cache
from restem_jax.sampling import engines, stops
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import partitioning
from tests.engine import toy

PREFIX = "Solve each problem.\n" * 4  # 80 chars: a 64-token shared prefix
PROMPTS = [PREFIX + s for s in ["1+2=", "what is 7*8?", "x"]]
STOPS = ("\n", "=")
N, TOP_K = 3, 40


@pytest.fixture(scope="module")
def mesh():
  return toy.eight_device_mesh()  # data-parallel rows: shardings must match too


@pytest.fixture(scope="module")
def params(mesh):
  return toy.init_params(mesh)


def _run_and_capture(monkeypatch, sampler, params):
  """The (params, prefix_state, batch, shape) of the Sampler's first device call."""
  calls = []
  real = engines._Engine.run  # pylint: disable=protected-access

  def spy(self, *args):
    calls.append(args)
    return real(self, *args)

  monkeypatch.setattr(engines._Engine, "run", spy)  # pylint: disable=protected-access
  sampler.sample(params, PROMPTS, [1, 2, 3], N, SamplingParams(top_k=TOP_K), seed=0,
                 stop_sequences=STOPS)
  assert len(calls) == 1, "three prompts at prompts_per_batch=4 make one call"
  return calls[0]


@pytest.mark.parametrize("engine,slots,dtype", [
    ("cascade", 0, ""), ("cascade", 2, ""), ("repeat", 0, ""),
    ("cascade", 0, "bfloat16"), ("cascade", 2, "bfloat16"), ("repeat", 0, "bfloat16")])
def test_planned_decode_is_the_run_decode(monkeypatch, mesh, params, engine, slots, dtype):
  # dtype: sampler.params_dtype and sampler.kv_cache_dtype ('' = the model's).
  config = SamplerConfig(prompt_buckets=(128,), max_new_tokens=8, prompts_per_batch=4,
                         engine=engine, slots_per_problem=slots, params_dtype=dtype,
                         kv_cache_dtype=dtype)
  sampler = Sampler(toy.TOY, toy.VOCAB, config, mesh, toy.RULES)
  run_params, prefix_state, batch, shape = _run_and_capture(monkeypatch, sampler, params)
  prefix_len = 0 if prefix_state is None else kv_cache.length(prefix_state)
  assert prefix_len == (64 if engine == "cascade" else 0)
  program = sampler._engine.program(shape)  # pylint: disable=protected-access
  with partitioning.activation_sharding(mesh, toy.RULES):
    ran = program.lower(run_params, prefix_state, batch).as_text()
  table = stops.abstract_table(toy.TOY.vocab_size, STOPS, len(stops.vocab_stop_ids(toy.VOCAB)))
  planned = programs.decode_program(toy.TOY, config, mesh, toy.RULES, num_samples=N,
                                    top_k=TOP_K, stop_table=table,
                                    prefix_len=prefix_len).as_text()
  diff = "\n".join(list(difflib.unified_diff(ran.splitlines(), planned.splitlines(),
                                             "run", "plan", lineterm=""))[:40])
  assert planned == ran, f"the planned {engine} program differs from the run's:\n{diff}"
  if dtype:  # the run's weights are the cast copy, and the plan says so
    assert {x.dtype.name for x in jax.tree.leaves(run_params)} == {dtype}
  # The engines really differ: refill is not the cascade program, repeat not either.
  if engine == "cascade" and slots and not dtype:
    one_row = programs.decode_program(toy.TOY, SamplerConfig(
        prompt_buckets=(128,), max_new_tokens=8, prompts_per_batch=4), mesh, toy.RULES,
        num_samples=N, top_k=TOP_K, stop_table=table, prefix_len=prefix_len).as_text()
    assert one_row != planned


def test_cache_bytes_follow_the_engine(mesh):
  base = dict(prompt_buckets=(128,), max_new_tokens=8, prompts_per_batch=4)
  got = {name: programs.decode_cache_bytes(toy.TOY, SamplerConfig(**base, **kw), mesh,
                                           num_samples=8, prefix_len=64)
         for name, kw in [("repeat", dict(engine="repeat")), ("cascade", {}),
                          ("refill", dict(slots_per_problem=2))]}
  rows = 4  # prompts_per_batch, a multiple of the data-parallel size 4
  assert got["repeat"] == kv_cache.cache_bytes(toy.TOY, rows * 8, 64 + 128 + 8)
  assert got["cascade"] == (kv_cache.cache_bytes(toy.TOY, 1, 64)
                            + kv_cache.cache_bytes(toy.TOY, rows, 128)
                            + kv_cache.cache_bytes(toy.TOY, rows * 8, 8))
  assert got["refill"] == (kv_cache.cache_bytes(toy.TOY, 1, 64)
                           + kv_cache.cache_bytes(toy.TOY, rows, 128)
                           + kv_cache.cache_bytes(toy.TOY, rows * 2, 128 + 8))
  assert got["cascade"] < got["repeat"]
