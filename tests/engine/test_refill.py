"""Continuous batching (`refill.py`): B x S slots give the samples of one row per sample
(same tokens, logprobs within fp32 tolerance), whatever S and the batch, and a free
slot starts the call's next sample, of any problem, as soon as its current one ends."""

import heapq

import numpy as np
import pytest

from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from tests.engine import toy

PREFIX = "Solve each problem.\n" * 4  # a 64-token shared prefix + 16 tokens in the suffix
PROMPTS = [PREFIX + s for s in ["1+2=", "a much longer question, 7*8 = what?", "x", "9-9="]]
IDX = [11, 22, 33, 44]
SP = SamplingParams(temperature=1.0, top_k=0)
N, M = 5, 16
STOPS = ("e", "a", "7", "=", "q", "Z")  # frequent enough that lengths vary within a call


@pytest.fixture(scope="module")
def mesh():
  return toy.one_device_mesh()


@pytest.fixture(scope="module")
def params(mesh):
  return toy.init_params(mesh)


def make(mesh, slots, per_batch=2):
  return Sampler(toy.TOY, toy.VOCAB, SamplerConfig(
      prompt_buckets=(64, 128), max_new_tokens=M, prompts_per_batch=per_batch,
      slots_per_problem=slots), mesh, toy.RULES)


@pytest.fixture(scope="module")
def one_row_per_sample(mesh, params):
  return make(mesh, 0).sample(params, PROMPTS, IDX, N, SP, seed=7, stop_sequences=STOPS)


def assert_same_samples(got, want):
  np.testing.assert_array_equal(got.lengths, want.lengths)
  np.testing.assert_array_equal(got.tokens, want.tokens)
  np.testing.assert_allclose(got.logprobs, want.logprobs, atol=2e-5)
  assert got.texts == want.texts


def test_lengths_vary_so_slots_really_refill(one_row_per_sample):
  lengths = one_row_per_sample.lengths
  assert lengths.min() < M and (lengths == M).any()  # slots refill at a stop and at M
  assert (lengths < M).sum() > lengths.size // 2


def test_two_slots_give_the_samples_of_one_row_per_sample(mesh, params, one_row_per_sample):
  got = make(mesh, 2).sample(params, PROMPTS, IDX, N, SP, seed=7, stop_sequences=STOPS)
  assert_same_samples(got, one_row_per_sample)  # 2 slots for N = 5: one slot idles at the end


def test_one_slot_runs_its_samples_back_to_back(mesh, params, one_row_per_sample):
  # One problem per call, one slot: each sample's first token comes from the prompt's
  # logits, each later token costs one decode step, and the next sample starts in the step
  # after the previous one ends, so a call runs 1 + sum(length - 1) steps on its one row.
  out = make(mesh, 1, per_batch=1).sample(params, PROMPTS, IDX, N, SP, seed=7,
                                          stop_sequences=STOPS)
  assert_same_samples(out, one_row_per_sample)
  assert out.decode_row_steps == len(PROMPTS) + int((out.lengths - 1).sum())
  assert out.decode_row_steps < one_row_per_sample.decode_row_steps


def list_schedule_steps(lengths_in_queue_order, slots):
  """Loop steps when `slots` rows take samples in queue order as soon as they are free:
  a sample of L tokens holds its slot for L - 1 steps (its first token comes from the
  prompt's logits), free slots take the next samples in slot order, +1 for the start."""
  free = [(0, i) for i in range(slots)]
  for length in lengths_in_queue_order:
    t, i = heapq.heappop(free)
    heapq.heappush(free, (t + length - 1, i))
  return 1 + max(t for t, _ in free)


def test_a_free_slot_takes_the_next_problems_samples(mesh, params, one_row_per_sample):
  # One call of 4 problems, 1 slot each: 4 rows serve 20 samples from one queue (problems
  # in the call's order, i.e. by prompt length, each problem's samples in turn), so the
  # call lasts as long as a list schedule of the samples on 4 rows, not as long as the
  # problem whose samples add up longest.
  sampler = make(mesh, 1, per_batch=4)
  out = sampler.sample(params, PROMPTS, IDX, N, SP, seed=7, stop_sequences=STOPS)
  assert_same_samples(out, one_row_per_sample)
  order = sorted(range(len(PROMPTS)), key=lambda i: (len(sampler.encode(PROMPTS[i])), i))
  steps = list_schedule_steps([int(x) for i in order for x in out.lengths[i]], len(PROMPTS))
  assert out.decode_row_steps == len(PROMPTS) * steps
  per_problem = 1 + int((out.lengths - 1).sum(axis=1).max())  # slots tied to their problem
  assert steps < per_problem


def test_samples_do_not_depend_on_batch_or_sample_offset(mesh, params, one_row_per_sample):
  alone = make(mesh, 2, per_batch=1).sample(params, PROMPTS[1:2], IDX[1:2], 3, SP, seed=7,
                                            sample_offset=2, stop_sequences=STOPS)
  np.testing.assert_array_equal(alone.tokens[0], one_row_per_sample.tokens[1, 2:])


def test_refill_on_a_data_parallel_mesh(one_row_per_sample):
  mesh = toy.eight_device_mesh()  # the batch axis is split over 4 devices
  got = make(mesh, 2, per_batch=4).sample(toy.init_params(mesh), PROMPTS, IDX, N, SP, seed=7,
                                          stop_sequences=STOPS)
  assert_same_samples(got, one_row_per_sample)


def test_slots_need_the_cascade_engine(mesh):
  with pytest.raises(ValueError, match="slots_per_problem=2 needs sampler.engine='cascade'"):
    Sampler(toy.TOY, toy.VOCAB, SamplerConfig(slots_per_problem=2, engine="repeat"), mesh,
            toy.RULES)
  with pytest.raises(ValueError, match="slots_per_problem=-1 must be >= 0"):
    Sampler(toy.TOY, toy.VOCAB, SamplerConfig(slots_per_problem=-1), mesh, toy.RULES)
