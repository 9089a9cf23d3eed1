"""Stop strings end rows inside the compiled loop (toy model, character vocabulary)."""

import numpy as np
import pytest

from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from tests.engine import toy

PROMPTS = ["1+2=", "a much longer prompt, 7*8=", "x", "(3/4)+(1/4)="]
IDX = [11, 22, 33, 44]
M = 24
SP = SamplingParams(temperature=1.0, top_k=0)


@pytest.fixture(scope="module")
def mesh():
  return toy.one_device_mesh()


@pytest.fixture(scope="module")
def params(mesh):
  return toy.init_params(mesh)


def make_sampler(mesh, per_batch=4):
  return Sampler(toy.TOY, toy.VOCAB, SamplerConfig(prompt_buckets=(32,), max_new_tokens=M,
                                                   prompts_per_batch=per_batch), mesh, toy.RULES)


def first_stop_length(tokens, stops):
  """Tokens up to and including the one whose text first contains a stop string."""
  for i in range(len(tokens)):
    text = toy.VOCAB.decode(tokens[:i + 1].tolist())
    if any(s in text for s in stops):
      return i + 1
  return len(tokens)


@pytest.fixture(scope="module")
def reference(mesh, params):
  """Today's outputs: no stop strings, every row runs to EOS or M tokens."""
  return make_sampler(mesh).sample(params, PROMPTS, IDX, 2, SP, seed=4)


def test_outputs_equal_unstopped_outputs_cut_at_the_stop(mesh, params, reference):
  # One two-character stop string per row, taken from that row's own text, so every
  # row stops early and each stop spans two tokens.
  stops = tuple(sorted({t[3:5] for row in reference.texts for t in row if len(t) >= 5}))
  assert len(stops) >= 4
  out = make_sampler(mesh).sample(params, PROMPTS, IDX, 2, SP, seed=4, stop_sequences=stops)
  for p in range(len(PROMPTS)):
    for n in range(2):
      ref = reference.sample_tokens(p, n)
      want = first_stop_length(ref, stops)
      assert want < M
      assert out.lengths[p, n] == want, (p, n, reference.texts[p][n], stops)
      np.testing.assert_array_equal(out.sample_tokens(p, n), ref[:want])
      np.testing.assert_allclose(out.logprobs[p, n, :want], reference.logprobs[p, n, :want],
                                 atol=1e-6)
      assert np.all(out.tokens[p, n, want:] == 0) and np.all(out.logprobs[p, n, want:] == 0)
  # The loop ran only as long as its longest row, not M steps.
  assert out.decode_row_steps == out.lengths.max() * len(PROMPTS) * 2
  assert reference.decode_row_steps == M * len(PROMPTS) * 2


def test_filler_rows_start_done(mesh, params, reference):
  # One real prompt in a batch of 4: the 3 filler rows must not keep the loop running.
  stop = reference.texts[0][0][2:4]
  out = make_sampler(mesh).sample(params, PROMPTS[:1], IDX[:1], 1, SP, seed=4,
                                  stop_sequences=(stop,))
  want = first_stop_length(reference.sample_tokens(0, 0), (stop,))
  assert out.lengths[0, 0] == want < M
  assert out.decode_row_steps == want * 4


def test_stop_in_prompt_does_not_count(mesh, params, reference):
  # "=" ends prompt 0; a stop "=X" whose first char is the prompt's last char must not
  # fire on the first generated char X.
  first = reference.texts[0][0][0]
  out = make_sampler(mesh).sample(params, PROMPTS[:1], IDX[:1], 2, SP, seed=4,
                                  stop_sequences=("=" + first,))
  np.testing.assert_array_equal(out.lengths[0], [
      first_stop_length(reference.sample_tokens(0, n), ("=" + first,)) for n in range(2)])
  assert out.lengths[0, 0] > 1
