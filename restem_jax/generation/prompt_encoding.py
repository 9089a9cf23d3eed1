"""How the generate CLI turns an input record into prompt ids, and where its samples stop.

    PlainPrompts  {"prompt": TEXT}: vocab.encode_prompt(TEXT) (BOS where the tokenizer adds one);
                  rows end at the tokenizer's EOS set.
    ChatPrompts   {"messages": [...], "chat_template_kwargs": {...}?}: the checkpoint's chat
                  template renders the messages with the generation prompt, and the text is
                  encoded with no BOS added (the template writes it), as transformers'
                  apply_chat_template(messages, add_generation_prompt=True, tokenize=True) does;
                  rows also end at the template's end-of-turn text (<|im_end|>, <|eot_id|>),
                  which is cut from the sample's `text` (its `tokens` keep it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from restem_jax.training import chat_example
from restem_jax.checkpoint import chat_template_file
from restem_jax.vocab import chat_template


@dataclasses.dataclass(frozen=True)
class PlainPrompts:
  vocab: object

  @property
  def stop_sequences(self) -> tuple[str, ...]:
    return ()

  def encode(self, record: dict) -> np.ndarray:
    return np.asarray(self.vocab.encode_prompt(record["prompt"]), np.int32)

  def sample_text(self, text: str) -> str:
    return text


@dataclasses.dataclass(frozen=True)
class ChatPrompts:
  vocab: object
  template: chat_template.ChatTemplate

  @property
  def stop_sequences(self) -> tuple[str, ...]:
    return chat_example.stop_sequences(self.template)

  def encode(self, record: dict) -> np.ndarray:
    text = self.template.render(record["messages"], add_generation_prompt=True,
                                **record.get("chat_template_kwargs", {}))
    return np.asarray(self.vocab.encode(text), np.int32)

  def sample_text(self, text: str) -> str:
    at = text.find(self.template.end_of_turn)
    return text if at < 0 else text[:at]


def for_records(records: list[dict], vocab, checkpoint: str) -> PlainPrompts | ChatPrompts:
  """The encoding the records need (jsonl_io.read_prompts: one kind per file); a chat file on a
  checkpoint without a template is an error naming the checkpoint."""
  if "messages" not in records[0]:
    return PlainPrompts(vocab)
  return ChatPrompts(vocab, chat_template_file.load_chat_template(checkpoint))


def encode_all(encoding: PlainPrompts | ChatPrompts, records: list[dict],
               source: str) -> list[np.ndarray]:
  """Every record's prompt ids; a template error names the input line's record number."""
  out = []
  for i, r in enumerate(records):
    try:
      out.append(encoding.encode(r))
    except chat_template.ChatTemplateError as e:
      raise chat_template.ChatTemplateError(f"{source}: record {i + 1}: {e}") from e
  return out
