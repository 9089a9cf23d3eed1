"""LoRA export: `convert export` of an adapter checkpoint gives the merged HF model, and
`--adapter` a PEFT adapter that `peft` loads onto the exported base to the same logits."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="pip install -r tests/hf/requirements.txt")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft", reason="pip install -r tests/hf/requirements.txt")

# pylint: disable=wrong-import-position
from restem_jax.checkpoint import adapter_checkpoint, model_checkpoint
from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.training import lora

RULES = partitioning.DEFAULT_RULES
CFG = ModelConfig(vocab_size=96, embed_dim=32, num_layers=2, num_heads=4, num_kv_heads=2,
                  head_dim=8, mlp_dim=64, max_len=64, scan_layers=True)
# dropout > 0: recorded as PEFT's lora_dropout; PEFT's eval mode (like ours) never drops.
LCFG = lora.LoraConfig(rank=4, alpha=8.0, targets=("q", "k", "v", "o", "gate", "up", "down"),
                       dropout=0.1)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _convert(*args):
  env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
  out = subprocess.run([sys.executable, "-m", "restem_jax.convert", "export", *args],
                       capture_output=True, text=True, env=env, check=False)
  assert out.returncode == 0, out.stderr[-3000:]


def test_peft_adapter_on_exported_base_equals_merged_export(tmp_path):
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig(), devices=jax.devices()[:1])
  params, _, _ = partitioning.init_sharded(lambda k: interface.init_boxed(CFG, k),
                                           jax.random.key(0), mesh, RULES)
  adapters = lora.init_adapters(CFG, LCFG, jax.random.key(1), mesh, RULES)
  adapters = jax.tree.map(lambda x: x + 0.05, adapters)  # nonzero B: a real update
  base_ckpt, ad_ckpt = str(tmp_path / "base"), str(tmp_path / "policy")
  model_checkpoint.save(base_ckpt, params, CFG)
  adapter_checkpoint.save(ad_ckpt, adapters, CFG, LCFG, base_ckpt)

  _convert(f"--checkpoint={base_ckpt}", f"--out={tmp_path / 'base_hf'}")
  _convert(f"--checkpoint={ad_ckpt}", f"--out={tmp_path / 'merged_hf'}",
           f"--adapter={tmp_path / 'peft'}")
  cfg = json.loads((tmp_path / "peft" / "adapter_config.json").read_text())
  assert (cfg["r"], cfg["lora_alpha"], cfg["lora_dropout"]) == (4, 8.0, 0.1)

  tokens = np.random.default_rng(0).integers(3, 96, size=(2, 10))
  ours = np.asarray(interface.logits_fn(CFG, lora.merge(CFG, LCFG, params, adapters),
                                        tokens, np.ones_like(tokens)))
  load = transformers.AutoModelForCausalLM.from_pretrained
  merged = load(str(tmp_path / "merged_hf"), torch_dtype=torch.float32).eval()
  base = load(str(tmp_path / "base_hf"), torch_dtype=torch.float32).eval()
  with torch.no_grad():
    base_logits = base(torch.tensor(tokens)).logits.numpy()
    adapted = peft.PeftModel.from_pretrained(base, str(tmp_path / "peft")).eval()
    peft_logits = adapted(torch.tensor(tokens)).logits.numpy()
    merged_logits = merged(torch.tensor(tokens)).logits.numpy()
  assert np.abs(merged_logits - base_logits).max() > 1e-2  # the adapters change the model
  np.testing.assert_allclose(merged_logits, ours, atol=1e-4)
  np.testing.assert_allclose(peft_logits, merged_logits, atol=1e-4)


def test_adapter_flag_refuses_a_full_checkpoint(tmp_path):
  env = dict(os.environ, PYTHONPATH=REPO)
  out = subprocess.run([sys.executable, "-m", "restem_jax.convert", "export",
                        f"--checkpoint={tmp_path}", f"--out={tmp_path / 'o'}",
                        f"--adapter={tmp_path / 'p'}"], capture_output=True, text=True,
                       env=env, check=False)
  assert out.returncode != 0 and "--adapter needs a LoRA checkpoint" in out.stderr
