"""Sample from any self-describing checkpoint (the tool to eyeball a policy or feed verify).

  python -m restem_jax.generate --checkpoint=CKPT --input=IN.jsonl --output=OUT.jsonl \
      [--num_samples=N --max_new_tokens=M --temperature=T --top_k=K --top_p=P --seed=S]

IN lines hold `prompt`, or (chat) `messages` [+ `chat_template_kwargs`] rendered with the
checkpoint's chat template and its generation prompt, stopping at the template's end-of-turn
token (other fields are carried through). OUT lines are the input plus `prompt_tokens` (BOS
included where the tokenizer adds one; for chat, the rendered conversation's ids) and
`samples`: a list of {"text", "tokens", "logprobs"} (log p_model of each generated token at
temperature 1).
--temperature=0 is greedy. A progress bar goes to stderr.
"""

import sys

from absl import app
from absl import flags

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Self-describing checkpoint directory.")
_INPUT = flags.DEFINE_string(
    "input", None, "JSONL file, one {'prompt': ...} or {'messages': [...]} object a line.")
_OUTPUT = flags.DEFINE_string("output", None, "JSONL file to write.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 1, "Samples per prompt.")
_MAX_NEW_TOKENS = flags.DEFINE_integer("max_new_tokens", 128, "Generated tokens at most.")
_TEMPERATURE = flags.DEFINE_float("temperature", 1.0, "Sampling temperature; 0 = greedy.")
_TOP_K = flags.DEFINE_integer("top_k", 0, "Top-k filter; 0 = off.")
_TOP_P = flags.DEFINE_float("top_p", 1.0, "Nucleus mass; 1 = off.")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed (keys per prompt line and sample).")
flags.mark_flags_as_required(["checkpoint", "input", "output"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  import tqdm  # pylint: disable=g-import-not-at-top
  from restem_jax.generation import generate_lib  # pylint: disable=g-import-not-at-top
  cfg = generate_lib.GenerateConfig(
      checkpoint=_CHECKPOINT.value, input=_INPUT.value, output=_OUTPUT.value,
      num_samples=_NUM_SAMPLES.value, max_new_tokens=_MAX_NEW_TOKENS.value,
      temperature=_TEMPERATURE.value, top_k=_TOP_K.value, top_p=_TOP_P.value, seed=_SEED.value)
  from restem_jax.generation import jsonl_io  # pylint: disable=g-import-not-at-top
  records = jsonl_io.read_prompts(cfg.input)  # bad lines fail before the model loads
  with tqdm.tqdm(total=len(records), desc="prompts", unit="prompt", file=sys.stderr) as bar:
    n = generate_lib.run(cfg, records, progress=bar.update)
  print(f"wrote {n} records to {cfg.output}", file=sys.stderr)


if __name__ == "__main__":
  app.run(main)
