"""The chat template stored with a self-describing model checkpoint (CKPT/tokenizer/).

The checkpoint layer knows where a checkpoint keeps its tokenizer files;
`restem_jax.vocab.chat_template` reads and renders a template from a tokenizer directory.
"""

from __future__ import annotations

from restem_jax import io
from restem_jax.checkpoint import model_checkpoint
from restem_jax.vocab import chat_template


def load_chat_template(checkpoint_dir: str, *,
                       name: str | None = None) -> chat_template.ChatTemplate:
  """The chat template stored with a self-describing model checkpoint; ValueError naming the
  checkpoint when it has none."""
  tok_dir = model_checkpoint.tokenizer_dir(checkpoint_dir) if io.isdir(
      checkpoint_dir) else None
  if tok_dir is None:
    raise chat_template.ChatTemplateError(
        f"checkpoint {checkpoint_dir} has no tokenizer files ({checkpoint_dir}/tokenizer/), so no "
        "chat template: chat prompts need an instruct model imported with `python -m "
        "restem_jax.convert import --source=HF_DIR_OR_GGUF --out=CKPT`.")
  return chat_template.from_tokenizer_dir(tok_dir, name=name,
                                         origin=f"checkpoint {checkpoint_dir}")
