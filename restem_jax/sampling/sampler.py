"""Host-side sampler: tokenise, bucket, batch, run the compiled decode, detokenise.

Prompts are taken in length order, a fixed number per device call, and each call
is padded (on the left) to the smallest configured bucket that fits its longest
prompt, so a whole E-step compiles one program per bucket and only its last call
has empty rows. Sampling keys depend only on (seed, iteration, problem,
sample), never on the batch a prompt landed in. Rows end on device at the EOS set
or at the task's stop strings (`stops.py`); the texts still hold the stop string
(callers cut it with `tasks.completion.truncate_at_stop`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import jax
import numpy as np

from restem_jax import vocab as vocab_lib
from restem_jax.model import interface, kv_cache
from restem_jax.model.config import ModelConfig
from restem_jax.sampling import decode_input, engines, stops
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import host_arrays
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.tasks import completion
from restem_jax.tasks.problem import Problem


PARAMS_DTYPES = ("", "bfloat16", "float32")


@dataclasses.dataclass(frozen=True)
class SamplerConfig:
  prompt_buckets: tuple[int, ...] = (64, 128, 256, 512)  # left-padded prompt lengths
  max_new_tokens: int = 128
  prompts_per_batch: int = 8  # prompts per device call (rows = this x num_samples)
  engine: str = "cascade"  # 'cascade' (shared-prefix cache) or 'repeat' (see engines.py)
  # Rows per problem in a device call ('cascade' only): 0 = one per sample (a call ends
  # when its longest sample does); S < N = continuous batching, the call's B x S slots take
  # its B x N samples from one queue (`refill.py`). Same samples either way.
  slots_per_problem: int = 0
  # Weights the sampler decodes with: '' = the model's param dtype, or 'bfloat16' /
  # 'float32'. The trainer keeps its fp32 masters; `Sampler.place` casts a copy once.
  params_dtype: str = ""
  # The KV cache's dtype: '' = the model's compute dtype, or 'bfloat16' / 'float16' /
  # 'float32' (`kv_cache.dtype_of`).
  kv_cache_dtype: str = ""

  def __post_init__(self):
    if self.params_dtype not in PARAMS_DTYPES:
      raise ValueError(f"sampler.params_dtype={self.params_dtype!r}; expected one of "
                       f"{PARAMS_DTYPES} ('' = the model's param dtype).")
    if self.kv_cache_dtype not in kv_cache.CACHE_DTYPES:
      raise ValueError(f"sampler.kv_cache_dtype={self.kv_cache_dtype!r}; expected one of "
                       f"{kv_cache.CACHE_DTYPES} ('' = the model's compute dtype).")


@dataclasses.dataclass(frozen=True)
class SamplerOutput:
  """Samples for P prompts x N samples, problem-major.

  tokens: int32 [P, N, M], PAD after a row's last token (the EOS, or the token that
    completes a stop string, is included).
  lengths: int32 [P, N] generated tokens including that last token.
  logprobs: float32 [P, N, M] log p_model(token) at temperature 1; 0 past `lengths`.
  texts: P lists of N decoded strings (EOS and padding removed).
  prompt_tokens: P int32 arrays, the exact prompt ids the samples continue.
  decode_row_steps: rows x decode steps the device ran, summed over its calls (filler
    rows and rows that finished early included: the decode work actually paid for).
  """
  tokens: np.ndarray
  lengths: np.ndarray
  logprobs: np.ndarray
  texts: list[list[str]]
  prompt_tokens: list[np.ndarray]
  decode_row_steps: int = 0

  def sample_tokens(self, p: int, n: int) -> np.ndarray:
    return self.tokens[p, n, : self.lengths[p, n]]


class Sampler:
  """Samples N continuations per prompt with a compiled, KV-cached decode loop."""

  def __init__(self, model_cfg: ModelConfig, vocab, config: SamplerConfig,
               mesh: jax.sharding.Mesh, rules):
    self._model_cfg = model_cfg
    self._vocab = vocab_lib.ensure(vocab)
    self._cfg = config
    self._mesh = mesh
    self._rules = rules
    self._fns: dict[tuple, Callable] = {}
    self._param_shardings = None
    self._engine = make_engine(config, model_cfg)

  def place(self, params):
    """`params` in the sampling layout (`rules`) and dtype (`params_dtype`): the hook
    between M-step and E-step. A no-op for params placed already; else new arrays (the
    caller's, e.g. the trainer's fp32 masters, are left as they are)."""
    if self._param_shardings is None:
      self._param_shardings = partitioning.param_shardings(
          lambda k: interface.init_boxed(self._model_cfg, k), self._mesh, self._rules)
    params = partitioning.reshard(params, self._param_shardings)
    if not self._cfg.params_dtype:
      return params
    want = jax.numpy.dtype(self._cfg.params_dtype)
    return jax.tree.map(lambda x: x if x.dtype == want else x.astype(want), params)

  @property
  def vocab(self):
    return self._vocab

  @property
  def model_config(self) -> ModelConfig:
    return self._model_cfg

  def encode(self, prompt: str) -> np.ndarray:
    """The prompt's ids as the tokenizer's config encodes it (BOS where it adds one)."""
    return np.asarray(self._vocab.encode_prompt(prompt), np.int32)

  def encode_problem(self, problem: Problem) -> np.ndarray:
    """`problem.prompt`'s ids as its task encodes them (`completion.prompt_ids`: no BOS added
    to a chat prompt, whose template writes its own)."""
    return np.asarray(completion.prompt_ids(self._vocab, problem), np.int32)

  def bucket_for(self, length: int) -> int:
    for b in sorted(self._cfg.prompt_buckets):
      if length <= b:
        return b
    raise ValueError(f"prompt of {length} tokens exceeds the largest prompt bucket "
                     f"{max(self._cfg.prompt_buckets)}; raise sampler.prompt_buckets.")

  def stop_table(self, stop_sequences: Sequence[str]) -> stops.StopTable:
    key = ("stops", tuple(stop_sequences))
    if key not in self._fns:
      self._fns[key] = stops.table_for(self._vocab, self._model_cfg.vocab_size, key[1])
    return self._fns[key]

  def sample(self, params, prompts: Sequence[str | np.ndarray], problem_idx: Sequence[int],
             num_samples: int, sampling: SamplingParams, *, seed: int, iteration: int = 0,
             sample_offset: int = 0, stop_sequences: Sequence[str] = ()) -> SamplerOutput:
    """Samples `num_samples` continuations of every prompt (strings or token ids).

    A row ends at the vocabulary's EOS set or once its text contains one of
    `stop_sequences` (e.g. `tasks.completion.STOP_SEQUENCES[task]`)."""
    if len(prompts) != len(problem_idx):
      raise ValueError(f"{len(prompts)} prompts but {len(problem_idx)} problem indices.")
    params = self.place(params)
    encoded = [self.encode(p) if isinstance(p, str) else np.asarray(p, np.int32) for p in prompts]
    for i, e in enumerate(encoded):
      if len(e) == 0:
        raise ValueError(f"prompt {i} (problem index {problem_idx[i]}) is empty.")
    m = self._cfg.max_new_tokens
    out_tokens = np.zeros((len(encoded), num_samples, m), np.int32)
    out_lp = np.zeros((len(encoded), num_samples, m), np.float32)
    out_len = np.zeros((len(encoded), num_samples), np.int32)
    # The engine's shared prefix is prefilled once; the rest of each prompt (its suffix)
    # is padded to a bucket. Each device call takes the next `per_batch` suffixes in
    # length order and pads them to the bucket of its longest, so every call but the last
    # is full: a call's cost is its rows x steps, and a row left empty at a bucket
    # boundary costs as much as a real one, while a longer padded suffix costs only its
    # (masked) prompt positions.
    for e in encoded:  # the whole prompt must fit a bucket, whatever the engine splits off
      self.bucket_for(len(e))
    p0 = self._engine.prefix_len(encoded)
    prefix_state = self._engine.prefill(params, encoded[0][:p0], self._mesh, self._rules)
    suffixes = [e[p0:] for e in encoded]
    order = sorted(range(len(encoded)), key=lambda i: (len(suffixes[i]), i))
    per_batch = rows_per_call(self._cfg, self._mesh)
    table = self.stop_table(stop_sequences)
    shape = self._engine.shape(num_samples, sampling.top_k)
    start, row_steps = 0, 0
    while start < len(order):
      idx = order[start:start + per_batch]
      bucket = self.bucket_for(len(suffixes[idx[-1]]))  # the batch's longest
      start += len(idx)
      batch = decode_input.pack([suffixes[i] for i in idx], [problem_idx[i] for i in idx],
                                per_batch, bucket, self._vocab.eos_id, sampling, seed=seed,
                                iteration=iteration, sample_offset=sample_offset,
                                stop_table=table)
      res = self._run_batch(params, prefix_state, batch, shape, len(idx))
      for j, i in enumerate(idx):
        out_tokens[i], out_lp[i], out_len[i] = res[0][j], res[1][j], res[2][j]
      row_steps += res[3]
    texts = [[self._vocab.decode_continuation(encoded[p], out_tokens[p, n, : out_len[p, n]])
              for n in range(num_samples)] for p in range(len(encoded))]
    return SamplerOutput(out_tokens, out_len, out_lp, texts, encoded, row_steps)

  def _run_batch(self, params, prefix_state, batch: decode_input.DecodeBatch,
                 shape: decode_input.DecodeShape, b: int):
    """Runs the compiled loop on a packed batch; returns its first `b` rows as [b, N, ...]
    numpy arrays and the rows x steps it ran."""
    batch = decode_input.place(batch, self._mesh, self._rules)
    with partitioning.activation_sharding(self._mesh, self._rules):
      out = self._engine.run(params, prefix_state, batch, shape)
    out = host_arrays.fetch(out)  # every process gets the whole batch
    rows, n = batch.prompts_BxP.shape[0], shape.num_samples
    return (out["tokens"].reshape(rows, n, -1)[:b], out["logprobs"].reshape(rows, n, -1)[:b],
            out["lengths"].reshape(rows, n)[:b], int(out["row_steps"]))


def make_engine(config: SamplerConfig, model_cfg: ModelConfig):
  """The decode engine a Sampler with `config` runs (and the AOT planner lowers)."""
  return engines.make(config.engine, model_cfg, config.max_new_tokens,
                      config.slots_per_problem, config.kv_cache_dtype)


def sampling_model_config(config: SamplerConfig, model_cfg: ModelConfig) -> ModelConfig:
  """The model as the sampler holds it: `param_dtype` = `config.params_dtype` when set."""
  if not config.params_dtype:
    return model_cfg
  return dataclasses.replace(model_cfg, param_dtype=config.params_dtype)


def rows_per_call(config: SamplerConfig, mesh) -> int:
  """Prompts per device call: `prompts_per_batch` rounded up to the data-parallel size."""
  dp = mesh_lib.data_parallel_size(mesh)
  return -(-max(config.prompts_per_batch, 1) // dp) * dp
