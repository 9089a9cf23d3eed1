"""Chat-prompted training examples: the prompt is the rendered conversation, the target is the
assistant's completion followed by the template's end-of-turn token.

    prompt ids  = vocab.encode(template.render(messages, add_generation_prompt=True))
                  (no BOS added: the template writes it; = transformers' apply_chat_template ids)
    target ids  = completion ids + end_of_turn ids      (the only positions the loss sees)

For a reference solution (SFT, few-shot style data) use `example(...)` or `target_ids(...)`;
for a sampled completion (E-step) use `sampled_target_ids(...)`, which keeps the sampler's own
ids (no re-tokenisation) up to and including the end-of-turn token. The sampler stops a chat
row at `stop_sequences(template)` (the end-of-turn text), which works whether or not the
end-of-turn token is the tokenizer's EOS (stop strings are matched on decoded text,
sampling/stops.py; special tokens decode to their text).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from restem_jax.training.packing import Example
from restem_jax.vocab.chat_template import ChatTemplate


def stop_sequences(template: ChatTemplate) -> tuple[str, ...]:
  """The stop strings a chat-prompted sampler ends rows at."""
  return (template.end_of_turn,)


def end_of_turn_ids(vocab, template: ChatTemplate) -> list[int]:
  """The ids of the end-of-turn text (one id for a special token such as <|im_end|>)."""
  ids = [int(i) for i in vocab.encode(template.end_of_turn)]
  if not ids:
    raise ValueError(f"end_of_turn {template.end_of_turn!r} of {template.origin} encodes to no "
                     "ids with this vocabulary.")
  return ids


def prompt_ids(vocab, template: ChatTemplate, messages, **template_kwargs) -> list[int]:
  """Ids of the conversation rendered with the generation prompt (what the model continues)."""
  text = template.render(messages, add_generation_prompt=True, **template_kwargs)
  return [int(i) for i in vocab.encode(text)]


def target_ids(vocab, template: ChatTemplate, prompt_text: str, prompt: Sequence[int],
               completion: str) -> list[int]:
  """Ids of `completion` + end_of_turn as they follow the rendered prompt.

  The ids that `encode(prompt_text + completion + end_of_turn)` has after `prompt` when they
  extend it and end with the end-of-turn ids (how the whole rendered conversation tokenises),
  else `encode(completion) + end_of_turn ids`.
  """
  prompt = [int(i) for i in prompt]
  eot = end_of_turn_ids(vocab, template)
  full = [int(i) for i in vocab.encode(prompt_text + completion + template.end_of_turn)]
  if full[:len(prompt)] == prompt and full[-len(eot):] == eot and len(full) > len(prompt):
    return full[len(prompt):]
  return [int(i) for i in vocab.encode(completion)] + eot


def _cut_before_text(vocab, prompt: Sequence[int], ids: list[int], text: str) -> int | None:
  """Length of the shortest prefix of `ids` whose continuation text covers everything before
  `text`, when the decoded continuation contains `text`; else None."""
  decoded = vocab.decode_continuation(list(prompt), ids)
  at = decoded.find(text)
  if at < 0:
    return None
  lo, hi = 0, len(ids)
  while lo < hi:
    mid = (lo + hi) // 2
    if len(vocab.decode_continuation(list(prompt), ids[:mid])) >= at:
      hi = mid
    else:
      lo = mid + 1
  return lo


def sampled_target_ids(vocab, template: ChatTemplate, prompt: Sequence[int],
                       sample: Sequence[int]) -> list[int]:
  """The sampled ids to train on: up to and including the end of the assistant turn.

  A single-id end-of-turn token: the ids through its first occurrence. A sample that ended on
  another stop id (e.g. Llama-3's <|end_of_text|>) gets that id replaced by end_of_turn. An
  end-of-turn text of several ids: the shortest prefix of the sample covering the text before
  it, then the end-of-turn ids. A sample that never ended its turn (max_new_tokens) is kept as
  produced, as for few-shot prompts (loop/estep/generate.py).
  """
  ids = [int(i) for i in sample]
  eot = end_of_turn_ids(vocab, template)
  if len(eot) == 1 and eot[0] in ids:
    return ids[:ids.index(eot[0]) + 1]
  if len(eot) > 1:
    cut = _cut_before_text(vocab, prompt, ids, template.end_of_turn)
    if cut is not None:
      return ids[:cut] + eot
  stops = getattr(vocab, "stop_ids", None) or {vocab.eos_id}
  if ids and ids[-1] in stops:
    return ids[:-1] + eot
  return ids


def example(vocab, template: ChatTemplate, messages, completion: str, weight: float = 1.0,
            **template_kwargs) -> Example:
  """A packed-training example: prompt = the rendered `messages` + generation prompt (not
  trained), target = `completion` + end_of_turn (trained, with `weight`)."""
  text = template.render(messages, add_generation_prompt=True, **template_kwargs)
  prompt = [int(i) for i in vocab.encode(text)]
  target = target_ids(vocab, template, text, prompt, completion)
  return Example(np.asarray(prompt, np.int32), np.asarray(target, np.int32), float(weight))
