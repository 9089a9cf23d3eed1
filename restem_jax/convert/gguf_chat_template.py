"""A GGUF file's chat templates -> the files transformers reads them from.

llama.cpp's converter stores a model's template as the metadata string `tokenizer.chat_template`
and named ones (tool_use, rag, ...) as `tokenizer.chat_template.NAME`. They are written as
chat_template.jinja and additional_chat_templates/NAME.jinja (transformers 5's layout), byte for
byte, so `restem_jax.vocab.chat_template` and transformers render the template the GGUF ships.
"""

from __future__ import annotations

import os

from restem_jax.checkpoint import model_checkpoint
from restem_jax.vocab import chat_template

_KEY = "tokenizer.chat_template"


def read(reader) -> dict[str, str]:
  """name -> template text of a `gguf.GGUFReader` ('default' for tokenizer.chat_template)."""
  out = {}
  for key, field in reader.fields.items():
    if key == _KEY:
      out["default"] = str(field.contents())
    elif key.startswith(_KEY + "."):
      out[key[len(_KEY) + 1:]] = str(field.contents())
  return out


def write(reader, dest: str) -> list[str]:
  """Writes the templates of `reader` under the tokenizer directory `dest`; the file names."""
  names = []
  for name, text in sorted(read(reader).items()):
    rel = chat_template.TEMPLATE_FILE if name == "default" else \
        f"{model_checkpoint.CHAT_TEMPLATES_DIR}/{name}.jinja"
    path = os.path.join(dest, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
      f.write(text)
    names.append(rel)
  return names
