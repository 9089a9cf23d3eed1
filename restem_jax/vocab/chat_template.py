"""A model's chat template: read from its tokenizer files, rendered as transformers renders it.

Where the template lives (transformers 5's order; the first found wins):
  tokenizer/chat_template.jinja                 the template text (what `save_pretrained` writes)
  tokenizer/additional_chat_templates/NAME.jinja  more named templates beside it
  tokenizer/tokenizer_config.json "chat_template" a string, or a list of {"name", "template"}
A GGUF's `tokenizer.chat_template` (and `tokenizer.chat_template.NAME`) becomes those files on
`python -m restem_jax.convert import` (convert/gguf_chat_template.py).
With several named templates the one called "default" is used unless `name` picks another.

    tpl = chat_template_file.load_chat_template(CKPT)  # restem_jax.checkpoint: CKPT's template
    text = tpl.render([{"role": "user", "content": "2+2?"}])   # add_generation_prompt=True
    ids = vocab.encode(text)                        # no BOS added: the template writes its own

The ids equal `AutoTokenizer.apply_chat_template(messages, add_generation_prompt=True,
tokenize=True)`: transformers encodes the rendered text with add_special_tokens=False. Never pass
a rendered chat through `vocab.encode_prompt`, which adds BOS a second time for Llama-3.

`end_of_turn` is the text that closes an assistant turn (<|im_end|> for ChatML models such as
SmolLM2 and Qwen2.5, <|eot_id|> for Llama-3): found by rendering a probe conversation and taking
the longest added/special token that directly follows the assistant's content, else the
first line of what follows it, else the EOS token. Sampling stops there and the M-step target
ends with it (training/chat_example.py).
"""

from __future__ import annotations

import dataclasses
import json

import jinja2

from restem_jax import io
from restem_jax.vocab import chat_jinja

TEMPLATE_FILE = "chat_template.jinja"
TEMPLATES_DIR = "additional_chat_templates"
_PROBE_ANSWER = "restem probe answer 7281"
_PROBES = (
    [{"role": "user", "content": "restem probe question"},
     {"role": "assistant", "content": _PROBE_ANSWER}],
    [{"role": "system", "content": "restem probe system"},
     {"role": "user", "content": "restem probe question"},
     {"role": "assistant", "content": _PROBE_ANSWER}],
)


class ChatTemplateError(ValueError):
  """A chat template is missing, malformed, or refused a conversation; names the source."""


@dataclasses.dataclass(frozen=True)
class ChatTemplate:
  """A Jinja chat template plus the special tokens transformers passes to it."""
  source: str                  # the Jinja template text, as the checkpoint stores it
  bos_token: str | None        # passed to the template as transformers does
  eos_token: str | None
  end_of_turn: str             # text that ends an assistant turn ('<|im_end|>', '<|eot_id|>')
  origin: str = ""             # where the template was read from, for messages
  extra_tokens: tuple[tuple[str, str], ...] = ()  # unk_token / pad_token, also passed

  def render(self, messages: list[dict], *, add_generation_prompt: bool = True,
             **template_kwargs) -> str:
    """The conversation as the model reads it (transformers' apply_chat_template, tokenize=False).

    `template_kwargs` (e.g. enable_thinking=False, tools=[...], date_string=...) are passed to the
    template, overriding the special tokens. A template's raise_exception(...) becomes a
    ChatTemplateError carrying the template's message.
    """
    kwargs = {k: v for k, v in self.extra_tokens}
    kwargs.update({k: v for k, v in (("bos_token", self.bos_token),
                                     ("eos_token", self.eos_token)) if v is not None})
    kwargs.update({"tools": None, "documents": None})
    kwargs.update(chat_jinja.plain(template_kwargs, "template kwargs"))
    chat = chat_jinja.prepare_messages(messages)
    try:
      return _compile(self.source, self.origin).render(
          messages=chat, add_generation_prompt=add_generation_prompt, **kwargs)
    except jinja2.TemplateError as e:
      raise ChatTemplateError(f"chat template of {self.origin or 'the model'} refused the "
                              f"conversation: {e.message or e}") from e
    except (TypeError, KeyError, AttributeError, IndexError) as e:
      raise ChatTemplateError(f"chat template of {self.origin or 'the model'} failed on the "
                              f"conversation: {type(e).__name__}: {e}") from e


def _compile(source: str, origin: str) -> jinja2.Template:
  try:
    return chat_jinja.compile_template(source)
  except jinja2.TemplateSyntaxError as e:
    raise ChatTemplateError(f"chat template of {origin or 'the model'} is not valid Jinja "
                            f"(line {e.lineno}): {e.message}") from e


def find_end_of_turn(source: str, bos_token: str | None, eos_token: str | None,
                     added_tokens=(), origin: str = "") -> str:
  """The text ending an assistant turn in `source` (see the module docstring)."""
  probe = ChatTemplate(source, bos_token, eos_token, end_of_turn="", origin=origin)
  for messages in _PROBES:
    try:
      text = probe.render(messages, add_generation_prompt=False)
    except ChatTemplateError:
      continue
    at = text.rfind(_PROBE_ANSWER)
    if at < 0:
      continue
    after = text[at + len(_PROBE_ANSWER):]
    tokens = sorted((t for t in added_tokens if t and after.startswith(t)), key=len)
    if tokens:
      return tokens[-1]
    line = after.split("\n", 1)[0]
    if line.strip():
      return line
    break
  if eos_token:
    return eos_token
  raise ChatTemplateError(f"chat template of {origin or 'the model'}: cannot tell what ends an "
                          "assistant turn (nothing follows the assistant's content and the "
                          "tokenizer names no eos_token).")


def _read_json(path: str) -> dict:
  if not io.exists(path):
    return {}
  try:
    data = json.loads(io.read_bytes(path))
  except ValueError as e:
    raise ChatTemplateError(f"{path} is not valid JSON: {e}") from e
  return data if isinstance(data, dict) else {}


def _read_template_file(path: str) -> str:
  """The text of a .jinja file as transformers reads it: UTF-8 with universal newlines ('\r\n'
  and '\r' become '\n', Python's text mode)."""
  return io.read_bytes(path).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def read_templates(tok_dir: str) -> dict[str, str]:
  """name -> template text of the tokenizer directory (a single template is named 'default')."""
  out = {}
  single = io.join(tok_dir, TEMPLATE_FILE)
  if io.exists(single):
    out["default"] = _read_template_file(single)
  extra = io.join(tok_dir, TEMPLATES_DIR)
  if io.isdir(extra):
    for name in sorted(io.listdir(extra)):
      if name.endswith(".jinja"):
        out[name.removesuffix(".jinja")] = _read_template_file(io.join(extra, name))
  if out:
    return out
  path = io.join(tok_dir, "tokenizer_config.json")
  value = _read_json(path).get("chat_template")
  if isinstance(value, str):
    return {"default": value}
  if isinstance(value, list):
    try:
      return {t["name"]: t["template"] for t in value}
    except (TypeError, KeyError) as e:
      raise ChatTemplateError(f"{path}: chat_template must be a string or a list of "
                              f"{{'name', 'template'}} objects ({e!r}).") from e
  return {}


def _token_text(token) -> str | None:
  if isinstance(token, dict):
    return token.get("content")
  return token if isinstance(token, str) else None


def _added_tokens(tok_dir: str, config: dict) -> list[str]:
  tokens = [_token_text(t) for t in (config.get("added_tokens_decoder") or {}).values()]
  tokenizer_json = _read_json(io.join(tok_dir, "tokenizer.json"))
  tokens += [t.get("content") for t in tokenizer_json.get("added_tokens") or ()
             if isinstance(t, dict)]
  return [t for t in tokens if t]


def from_tokenizer_dir(tok_dir: str, *, name: str | None = None,
                       origin: str | None = None) -> ChatTemplate:
  """The chat template of a Hugging Face tokenizer directory; ChatTemplateError without one."""
  origin = origin or tok_dir
  templates = read_templates(tok_dir)
  if not templates:
    raise ChatTemplateError(
        f"{origin} has no chat template (no {TEMPLATE_FILE} and no chat_template in "
        "tokenizer_config.json): chat prompts need an instruct model's template. Re-import the "
        "model with `python -m restem_jax.convert import --source=HF_DIR_OR_GGUF --out=CKPT` "
        f"from a source that has one, or write the template to {tok_dir}/{TEMPLATE_FILE}.")
  key = name or "default"
  if key not in templates:
    raise ChatTemplateError(f"{origin}: no chat template named {key!r}; it has "
                            f"{sorted(templates)}.")
  config = _read_json(io.join(tok_dir, "tokenizer_config.json"))
  smap = _read_json(io.join(tok_dir, "special_tokens_map.json"))
  tokens = {k: _token_text(config.get(k)) or _token_text(smap.get(k))
            for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
  source = templates[key]
  _compile(source, origin)
  end = find_end_of_turn(source, tokens["bos_token"], tokens["eos_token"],
                         _added_tokens(tok_dir, config), origin)
  extra = tuple((k, tokens[k]) for k in ("unk_token", "pad_token") if tokens[k] is not None)
  return ChatTemplate(source, tokens["bos_token"], tokens["eos_token"], end, origin, extra)
