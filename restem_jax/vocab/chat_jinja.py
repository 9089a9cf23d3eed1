"""The Jinja environment chat templates are rendered in, built as transformers builds it.

transformers 5 (`transformers.utils.chat_template_utils._cached_compile_jinja_template`,
`render_jinja_template`) renders a model's chat template in an `ImmutableSandboxedEnvironment`
with `trim_blocks`, `lstrip_blocks`, the `loopcontrols` extension and a `{% generation %}`
block tag, and adds:
  tojson          json.dumps without HTML escaping (ensure_ascii=False, indent, separators,
                  sort_keys), unlike Jinja's own filter
  raise_exception raises jinja2.TemplateError(message): templates refuse bad conversations
  strftime_now    datetime.now().strftime(format) (Llama-3.1's "Today Date")
  dict, namespace dict() and a namespace that refuses underscore-prefixed attributes
Messages with None values lose those keys, and a message's reasoning given as `thinking` or
`reasoning` is also passed as `reasoning_content` (and vice versa), as transformers does.
Everything the template sees is rebuilt from plain JSON types. The same template text thus
renders to the same string here and in `AutoTokenizer.apply_chat_template`.
"""

from __future__ import annotations

import datetime
import functools
import json
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.utils
from jinja2.sandbox import ImmutableSandboxedEnvironment

_REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")


class _GenerationTag(jinja2.ext.Extension):
  """`{% generation %}...{% endgeneration %}`: renders its body unchanged (assistant masks are
  not computed here; the M-step target is assembled from ids, see training/chat_example.py)."""

  tags = {"generation"}

  def parse(self, parser):
    lineno = next(parser.stream).lineno
    body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
    return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

  def _render(self, caller):
    return caller()


def _raise_exception(message):
  raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
  return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                    sort_keys=sort_keys)


def _strftime_now(fmt):
  return datetime.datetime.now().strftime(fmt)


class _TemplateDict:
  """`dict(...)` inside a template, without attribute access to the builtin type."""

  def __call__(self, *args, **kwargs):
    return dict(*args, **kwargs)

  def fromkeys(self, *args, **kwargs):
    return dict.fromkeys(*args, **kwargs)


class _TemplateNamespace(jinja2.utils.Namespace):
  """`namespace(...)` refusing underscore-prefixed attributes (no CPython internals)."""

  def __init__(*args, **kwargs):  # pylint: disable=no-method-argument
    self, args = args[0], args[1:]
    attrs = dict(*args, **kwargs)
    for name in attrs:
      _TemplateNamespace.check_name(name)
    jinja2.utils.Namespace.__init__(self, attrs)

  def __setitem__(self, name, value):
    _TemplateNamespace.check_name(name)
    jinja2.utils.Namespace.__setitem__(self, name, value)

  @staticmethod
  def check_name(name):
    if isinstance(name, str) and name.startswith("_"):
      raise jinja2.exceptions.SecurityError(
          f"Chat templates cannot store underscore-prefixed attributes on a namespace, but got "
          f"{name!r}.")


@functools.lru_cache(maxsize=32)
def compile_template(source: str) -> jinja2.Template:
  """The compiled template (cached by its text); jinja2.TemplateSyntaxError when malformed."""
  env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                      extensions=[_GenerationTag, jinja2.ext.loopcontrols])
  env.filters["tojson"] = _tojson
  env.globals["raise_exception"] = _raise_exception
  env.globals["strftime_now"] = _strftime_now
  env.globals["dict"] = _TemplateDict()
  env.globals["namespace"] = _TemplateNamespace
  return env.from_string(source)


def plain(value: Any, where: str) -> Any:
  """`value` rebuilt from JSON types; TypeError naming `where` for anything else."""
  if value is None or type(value) in (str, int, float, bool):
    return value
  if isinstance(value, dict):
    return {plain(k, where): plain(v, f"{where}[{k!r}]") for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return type(value)(plain(v, f"{where}[{i}]") for i, v in enumerate(value))
  raise TypeError(f"{where}: chat template inputs must be JSON values (str, int, float, bool, "
                  f"None, list, dict), got {type(value).__name__}.")


def prepare_messages(messages) -> list[dict]:
  """The messages as the template sees them: None-valued keys dropped, reasoning aliased."""
  if not isinstance(messages, (list, tuple)) or not messages:
    raise ValueError(f"messages must be a non-empty list of {{'role', 'content'}} dicts, got "
                     f"{messages!r}.")
  out = []
  for i, m in enumerate(messages):
    if not isinstance(m, dict):
      raise TypeError(f"messages[{i}] must be a dict with 'role' and 'content', got {m!r}.")
    m = {k: v for k, v in plain(m, f"messages[{i}]").items() if v is not None}
    reasoning = next((m[k] for k in _REASONING_FIELDS if m.get(k) is not None), None)
    if reasoning is not None:
      m = {"thinking": reasoning, **m, "reasoning_content": reasoning}
    out.append(m)
  return out
