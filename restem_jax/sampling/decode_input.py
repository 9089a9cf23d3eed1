"""The one input type of the decode engines: a batch pytree plus a static shape.

Every engine program (`engines.py`) is `fn(params, prefix_state, batch: DecodeBatch)`,
compiled once per `DecodeShape`. The Sampler packs and places a `DecodeBatch` on host
arrays (`pack`, `place`); the AOT planner (`restem_jax.aot.programs`) builds the same
pytree of ShapeDtypeStructs with the same shardings (`abstract`), so the program it
compiles is the program the run executes (tests/engine/test_plan_matches_run.py).

Shape letters: B prompts (rows of the call, a multiple of the data-parallel size),
P the prompt (or suffix) bucket length, V the vocabulary.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from restem_jax.sampling import stops
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import partitioning


@dataclasses.dataclass(frozen=True)
class DecodeShape:
  """What a compiled decode program is specialised on (static)."""
  num_samples: int     # N samples per prompt
  max_new_tokens: int  # M
  top_k: int           # 0 = no top-k filter
  pad_id: int = 0      # written after a row's last token
  cache_dtype: str = ""  # the KV cache's dtype ('' = the model's compute dtype; kv_cache.py)


@flax.struct.dataclass
class DecodeBatch:
  """One device call's inputs (all traced: new values do not recompile).

  prompts_BxP: int32 left-padded prompt ids (the suffix after the engine's shared prefix).
  prompt_lens_B: int32 real tokens per row (>= 1).
  problem_idx_B: int32 stable problem indices (see `keys.problem_index`).
  active_B: bool; False marks a filler row (padding the last call): it starts done.
  seed, iteration, sample_offset: int32 scalars; row (b, n) uses the key of
    (seed, iteration, problem_idx_B[b], sample_offset + n).
  temperature, top_p: float32 scalars.
  stop_table: the EOS set and stop strings (`stops.StopTable`).
  """
  prompts_BxP: jax.Array
  prompt_lens_B: jax.Array
  problem_idx_B: jax.Array
  active_B: jax.Array
  seed: jax.Array
  iteration: jax.Array
  sample_offset: jax.Array
  temperature: jax.Array
  top_p: jax.Array
  stop_table: stops.StopTable


def pack(prompts: Sequence[np.ndarray], problem_idx: Sequence[int], rows: int, bucket: int,
         filler_id: int, sampling: SamplingParams, *, seed: int, iteration: int,
         sample_offset: int, stop_table: stops.StopTable) -> DecodeBatch:
  """Host arrays: `prompts` left-padded to [rows, bucket]; rows past them are filler rows
  (a one-token prompt of `filler_id`, done from the start)."""
  b = len(prompts)
  tokens_BxP = np.zeros((rows, bucket), np.int32)
  lens_B = np.ones((rows,), np.int32)
  pidx_B = np.zeros((rows,), np.int32)
  for j, (p, q) in enumerate(zip(prompts, problem_idx)):
    tokens_BxP[j, bucket - len(p):] = p
    lens_B[j], pidx_B[j] = len(p), q
  tokens_BxP[b:, -1] = filler_id
  return DecodeBatch(
      prompts_BxP=tokens_BxP, prompt_lens_B=lens_B, problem_idx_B=pidx_B,
      active_B=np.arange(rows) < b, seed=np.int32(seed), iteration=np.int32(iteration),
      sample_offset=np.int32(sample_offset), temperature=np.float32(sampling.temperature),
      top_p=np.float32(sampling.top_p), stop_table=stop_table)


def unstopped(prompts_BxP, lens_B, vocab_size: int, *, temperature: float = 0.0,
              top_p: float = 1.0, seed: int = 0) -> DecodeBatch:
  """Already left-padded prompts as a batch with no stop at all (no EOS, no stop strings):
  every row active, problem index = row. For parity checks and benchmarks that compare raw
  continuations of a fixed length."""
  b = np.asarray(prompts_BxP).shape[0]
  never = stops.build_table((b"",) * vocab_size, (), {-1})
  return DecodeBatch(
      prompts_BxP=jnp.asarray(prompts_BxP, jnp.int32),
      prompt_lens_B=jnp.asarray(lens_B, jnp.int32),
      problem_idx_B=jnp.arange(b, dtype=jnp.int32), active_B=jnp.ones((b,), bool),
      seed=jnp.int32(seed), iteration=jnp.int32(0), sample_offset=jnp.int32(0),
      temperature=jnp.float32(temperature), top_p=jnp.float32(top_p), stop_table=never)

def shardings(mesh, rules, stop_table: stops.StopTable) -> DecodeBatch:
  """Rows on the data axes, scalars and the stop table replicated."""
  rows2 = partitioning.batch_sharding(mesh, rules, 2)
  rows1 = partitioning.batch_sharding(mesh, rules, 1)
  rep = partitioning.replicated(mesh)
  return DecodeBatch(prompts_BxP=rows2, prompt_lens_B=rows1, problem_idx_B=rows1,
                     active_B=rows1, seed=rep, iteration=rep, sample_offset=rep,
                     temperature=rep, top_p=rep,
                     stop_table=jax.tree.map(lambda _: rep, stop_table))


def place(batch: DecodeBatch, mesh, rules) -> DecodeBatch:
  return jax.device_put(batch, shardings(mesh, rules, batch.stop_table))


def abstract(rows: int, bucket: int, stop_table: stops.StopTable, mesh, rules) -> DecodeBatch:
  """ShapeDtypeStructs of a placed `pack(...)` of [rows, bucket] with `stop_table`'s shapes
  (no arrays)."""
  i32, f32 = jnp.int32, jnp.float32
  like = DecodeBatch(
      prompts_BxP=jax.ShapeDtypeStruct((rows, bucket), i32),
      prompt_lens_B=jax.ShapeDtypeStruct((rows,), i32),
      problem_idx_B=jax.ShapeDtypeStruct((rows,), i32),
      active_B=jax.ShapeDtypeStruct((rows,), jnp.bool_),
      seed=jax.ShapeDtypeStruct((), i32), iteration=jax.ShapeDtypeStruct((), i32),
      sample_offset=jax.ShapeDtypeStruct((), i32), temperature=jax.ShapeDtypeStruct((), f32),
      top_p=jax.ShapeDtypeStruct((), f32),
      stop_table=jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), stop_table))
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                      like, shardings(mesh, rules, like.stop_table))
