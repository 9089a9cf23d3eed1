"""Sampling weights and KV cache in another dtype than the trainer's (`sampler.params_dtype`,
`sampler.kv_cache_dtype`): the cache has the configured dtype, the trainer's fp32 masters
stay fp32, and bf16 greedy decoding of the shipped toy base mostly agrees with fp32."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.checkpoint import packed_params
from restem_jax.loop import shipped_base
from restem_jax.model import interface, kv_cache
from restem_jax.sampling import engines
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import partitioning
from restem_jax.tasks import toy_arith
from tests.engine import toy

EXPRESSIONS = ["3+4", "12-5", "7*8", "(2+3)*4", "9-2*3", "15+27", "6*7-5", "(8-3)*(2+1)",
               "41-19", "5*5+5", "2*(9-4)", "33+44", "18-7+2", "4*4*2", "(7+1)*3", "50-25"]


@pytest.fixture(scope="module")
def toy_base():
  """(model config, params) of the pretrained toy base that ships with the package."""
  disk, packed = packed_params.read(shipped_base.TOY_BASE_DIR)
  cfg = packed.model_config
  mesh = toy.one_device_mesh()
  shardings = partitioning.param_shardings(lambda k: interface.init_boxed(cfg, k), mesh,
                                           toy.RULES)
  params = jax.tree.map(lambda x, s: jax.device_put(jnp.asarray(x), s), disk, shardings)
  return cfg, params, mesh


def _sampler(cfg, mesh, **dtypes):
  return Sampler(cfg, toy.VOCAB, SamplerConfig(prompt_buckets=(32,), max_new_tokens=24,
                                               prompts_per_batch=16, **dtypes), mesh, toy.RULES)


def _greedy(sampler, params):
  prompts = [toy_arith.prompt_text(e) for e in EXPRESSIONS]
  return sampler.sample(params, prompts, list(range(len(prompts))), 1,
                        SamplingParams.greedy(), seed=0).tokens[:, 0]


def test_bf16_sampling_mostly_agrees_with_fp32(toy_base):
  cfg, params, mesh = toy_base
  fp32 = _greedy(_sampler(cfg, mesh), params)
  bf16_sampler = _sampler(cfg, mesh, params_dtype="bfloat16", kv_cache_dtype="bfloat16")
  placed = bf16_sampler.place(params)
  assert {x.dtype for x in jax.tree.leaves(placed)} == {jnp.dtype(jnp.bfloat16)}
  assert {x.dtype for x in jax.tree.leaves(params)} == {jnp.dtype(jnp.float32)}  # masters
  assert bf16_sampler.place(placed) is not None  # placing again: no-op, still bf16
  bf16 = _greedy(bf16_sampler, params)
  same_rows = float(np.mean(np.all(bf16 == fp32, axis=1)))
  same_tokens = float(np.mean(bf16 == fp32))
  # Measured: 16/16 rows and every token agree (24 new tokens each, shipped toy base).
  assert same_rows >= 0.75 and same_tokens >= 0.9, (same_rows, same_tokens)
  assert np.any(fp32 != 0)  # the model really decodes


@pytest.mark.parametrize("engine,slots", [("cascade", 0), ("cascade", 2), ("repeat", 0)])
def test_kv_cache_has_the_configured_dtype(toy_base, monkeypatch, engine, slots):
  cfg, params, mesh = toy_base
  sampler = Sampler(cfg, toy.VOCAB, SamplerConfig(
      prompt_buckets=(32,), max_new_tokens=8, prompts_per_batch=4, engine=engine,
      slots_per_problem=slots, kv_cache_dtype="bfloat16"), mesh, toy.RULES)
  calls = []
  real = engines._Engine.run  # pylint: disable=protected-access
  monkeypatch.setattr(engines._Engine, "run",  # pylint: disable=protected-access
                      lambda self, *a: calls.append(a) or real(self, *a))
  prompts = ["Q: 1+2\nA:", "Q: 3*4\nA:"]
  sampler.sample(params, prompts, [0, 1], 3, SamplingParams(top_k=4), seed=0)
  run_params, prefix_state, batch, shape = calls[0]
  assert shape.cache_dtype == "bfloat16"
  if prefix_state is not None:  # the cascade's shared-prefix cache
    assert {x.dtype for x in jax.tree.leaves(prefix_state)} == {jnp.dtype(jnp.bfloat16)}
  # Every cache the program allocates (prompt/suffix and per-sample levels) is bf16:
  # float arrays of shape [rows, kv_heads, length, head_dim] made by broadcasting (zeros,
  # a prefix widened per problem) in the traced program.
  jaxpr = jax.make_jaxpr(sampler._engine.program(shape))(  # pylint: disable=protected-access
      run_params, prefix_state, batch)
  caches = [v.aval for eqn in _eqns(jaxpr.jaxpr) if eqn.primitive.name == "broadcast_in_dim"
            for v in eqn.outvars if v.aval.ndim == 4 and v.aval.shape[1] == cfg.num_kv_heads
            and v.aval.shape[3] == cfg.head_dim and jnp.issubdtype(v.aval.dtype, jnp.floating)]
  assert caches and {a.dtype for a in caches} == {jnp.dtype(jnp.bfloat16)}, caches
  assert programs_bytes(cfg, engine, slots) == programs_bytes(cfg, engine, slots, "") // 2


def _eqns(jaxpr):
  """Every equation of `jaxpr` and of the jaxprs nested in it (jit, loops, conds)."""
  for eqn in jaxpr.eqns:
    yield eqn
    for value in eqn.params.values():
      for sub in value if isinstance(value, (tuple, list)) else [value]:
        if hasattr(sub, "jaxpr") and hasattr(sub.jaxpr, "eqns"):  # ClosedJaxpr
          yield from _eqns(sub.jaxpr)
        elif hasattr(sub, "eqns"):
          yield from _eqns(sub)


def programs_bytes(cfg, engine, slots, dtype="bfloat16"):
  """The planner's KV bytes for a call of 4 problems x 3 samples: bf16 halves fp32."""
  e = engines.make(engine, cfg, 8, slots, dtype)
  return e.cache_bytes(e.shape(3, 4), 4, 32, 16)


def test_bad_dtypes_name_the_field():
  with pytest.raises(ValueError, match="sampler.params_dtype"):
    SamplerConfig(params_dtype="fp8")
  with pytest.raises(ValueError, match="sampler.kv_cache_dtype"):
    SamplerConfig(kv_cache_dtype="int8")
  with pytest.raises(ValueError, match="sampler.kv_cache_dtype"):
    kv_cache.dtype_of(toy.TOY, "bf16")
