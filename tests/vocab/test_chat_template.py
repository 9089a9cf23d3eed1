"""Chat templates: reading them from tokenizer files, end-of-turn, errors, transformers' filters.

The byte-equality with transformers on real templates is tests/hf/test_chat_template_hf.py;
these tests need neither transformers nor a model.
"""

import json
import os

import pytest

from restem_jax.checkpoint import chat_template_file
from restem_jax.vocab import chat_template as ct

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "chat_templates")


def fixture(name: str) -> str:
  with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
    return f.read()


def _tok_dir(tmp_path, *, template=None, config=None, extra=None):
  d = tmp_path / "tok"
  d.mkdir()
  (d / "tokenizer_config.json").write_text(json.dumps(config or {}))
  if template is not None:
    (d / ct.TEMPLATE_FILE).write_text(template)
  for name, text in (extra or {}).items():
    (d / ct.TEMPLATES_DIR).mkdir(exist_ok=True)
    (d / ct.TEMPLATES_DIR / f"{name}.jinja").write_text(text)
  return str(d)


@pytest.mark.parametrize("name,added,expected", [
    ("qwen2.5-instruct.jinja", ["<|im_start|>", "<|im_end|>"], "<|im_end|>"),
    ("qwen2.5-instruct.jinja", [], "<|im_end|>"),  # no token list: the first line after content
    ("llama-3-instruct.jinja", ["<|eot_id|>", "<|start_header_id|>"], "<|eot_id|>"),
    ("llama-3.1-instruct.jinja", ["<|eot_id|>", "<|eom_id|>"], "<|eot_id|>"),
])
def test_end_of_turn_of_real_templates(name, added, expected):
  got = ct.find_end_of_turn(fixture(name), "<|begin_of_text|>", "<|end_of_text|>", added)
  assert got == expected


def test_end_of_turn_falls_back_to_eos_when_nothing_follows_the_answer():
  src = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{% endfor %}"
  assert ct.find_end_of_turn(src, None, "</s>") == "</s>"


def test_template_from_tokenizer_config_and_special_tokens(tmp_path):
  src = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}<|end|>\n" \
        "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"
  d = _tok_dir(tmp_path, config={"chat_template": src, "bos_token": "<s>",
                                 "eos_token": {"content": "</s>"}, "pad_token": "<pad>",
                                 "added_tokens_decoder": {"5": {"content": "<|end|>"}}})
  tpl = ct.from_tokenizer_dir(d)
  assert (tpl.bos_token, tpl.eos_token, tpl.end_of_turn) == ("<s>", "</s>", "<|end|>")
  assert dict(tpl.extra_tokens) == {"pad_token": "<pad>"}
  msgs = [{"role": "user", "content": "hi"}]
  assert tpl.render(msgs) == "<s>[user]hi<|end|>\n[assistant]"
  assert tpl.render(msgs, add_generation_prompt=False) == "<s>[user]hi<|end|>\n"
  # template kwargs override the special tokens, as in transformers
  assert tpl.render(msgs, bos_token="") == "[user]hi<|end|>\n[assistant]"


def test_jinja_file_wins_over_tokenizer_config(tmp_path):
  d = _tok_dir(tmp_path, template="FILE{{ messages[0]['content'] }}",
               config={"chat_template": "CONFIG", "eos_token": "</s>"})
  assert ct.from_tokenizer_dir(d).render([{"role": "user", "content": "x"}]) == "FILEx"


def test_named_templates_pick_default_or_name(tmp_path):
  cfg = {"chat_template": [{"name": "default", "template": "D{{ messages|length }}"},
                           {"name": "tool_use", "template": "T{{ messages|length }}"}],
         "eos_token": "</s>"}
  d = _tok_dir(tmp_path, config=cfg)
  msgs = [{"role": "user", "content": "x"}]
  assert ct.from_tokenizer_dir(d).render(msgs) == "D1"
  assert ct.from_tokenizer_dir(d, name="tool_use").render(msgs) == "T1"
  with pytest.raises(ct.ChatTemplateError, match=r"no chat template named 'rag'.*'tool_use'"):
    ct.from_tokenizer_dir(d, name="rag")


def test_additional_chat_templates_dir(tmp_path):
  d = _tok_dir(tmp_path, template="A", config={"eos_token": "</s>"}, extra={"tool_use": "B"})
  assert set(ct.read_templates(d)) == {"default", "tool_use"}
  assert ct.from_tokenizer_dir(d, name="tool_use").render([{"role": "user", "content": ""}]) == "B"


def test_missing_template_names_checkpoint_and_fix(tmp_path):
  ckpt = tmp_path / "ckpt"
  (ckpt / "tokenizer").mkdir(parents=True)
  (ckpt / "tokenizer" / "tokenizer_config.json").write_text("{}")
  with pytest.raises(ValueError, match=rf"checkpoint {ckpt} has no chat template.*convert import"):
    chat_template_file.load_chat_template(str(ckpt))
  empty = tmp_path / "toy"
  empty.mkdir()
  with pytest.raises(ValueError, match=rf"checkpoint {empty} has no tokenizer files"):
    chat_template_file.load_chat_template(str(empty))


def test_raise_exception_reports_the_templates_message():
  tpl = ct.ChatTemplate(fixture("llama-3.1-instruct.jinja"), "<|begin_of_text|>", "<|eot_id|>",
                        "<|eot_id|>", origin="checkpoint /ckpt/llama")
  tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
  with pytest.raises(ct.ChatTemplateError,
                     match=r"checkpoint /ckpt/llama refused the conversation: Cannot put tools in "
                           r"the first user message when there's no first user message!"):
    tpl.render([{"role": "system", "content": "s"}], tools=tools)


def test_syntax_error_names_origin(tmp_path):
  d = _tok_dir(tmp_path, template="{% for m in messages %}", config={"eos_token": "</s>"})
  with pytest.raises(ct.ChatTemplateError, match=r"tok is not valid Jinja \(line 1\)"):
    ct.from_tokenizer_dir(d)


def test_transformers_globals_and_filters():
  src = ("{{ messages[0]['content'] | tojson }}|{{ {'a': '<b>'} | tojson(indent=1) }}|"
         "{% set ns = namespace(n=0) %}{% for m in messages %}{% if loop.first %}{% continue %}"
         "{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}|{{ strftime_now('%Y')|length }}"
         "{% generation %}|G{% endgeneration %}")
  tpl = ct.ChatTemplate(src, None, "</s>", "</s>")
  out = tpl.render([{"role": "user", "content": "é<&>"}, {"role": "assistant", "content": "x"}])
  assert out == '"é<&>"|{\n "a": "<b>"\n}|1|4|G'


def test_none_values_dropped_and_reasoning_aliased():
  src = ("{% for m in messages %}{{ 'content' in m }}/{{ m.get('reasoning_content', '-') }};"
         "{% endfor %}")
  tpl = ct.ChatTemplate(src, None, "</s>", "</s>")
  out = tpl.render([{"role": "user", "content": None},
                    {"role": "assistant", "content": "a", "thinking": "t"}])
  assert out == "False/-;True/t;"


def test_sandbox_refuses_attribute_escape():
  tpl = ct.ChatTemplate("{{ messages.__class__.__mro__ }}", None, "</s>", "</s>")
  with pytest.raises(ct.ChatTemplateError):
    tpl.render([{"role": "user", "content": "x"}])


def test_bad_messages_name_the_culprit():
  tpl = ct.ChatTemplate("{{ messages }}", None, "</s>", "</s>")
  with pytest.raises(TypeError, match=r"messages\[1\]"):
    tpl.render([{"role": "user", "content": "x"}, "oops"])
  with pytest.raises(TypeError, match=r"messages\[0\]\['content'\]: chat template inputs must"):
    tpl.render([{"role": "user", "content": object()}])
