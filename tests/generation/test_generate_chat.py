"""`python -m restem_jax.generate` with `messages` lines: rendered prompts, end-of-turn stops.

The tiny model's final norm scale is zero, so every logit is 0 and greedy decoding emits id 0,
which is the template's end-of-turn token <|im_end|> (not the tokenizer's EOS </s>): a chat
row must stop after it, a plain-prompt row runs to --max_new_tokens.
"""

import json

import jax
import pytest
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

from restem_jax.checkpoint import model_checkpoint
from restem_jax.generation import generate_lib, jsonl_io
from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.vocab import chat_template

CFG = ModelConfig(vocab_size=32, embed_dim=32, num_layers=1, num_heads=2, num_kv_heads=1,
                  head_dim=16, mlp_dim=64, max_len=128)
CHATML = ("{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('no tools "
          "here') }}{% endif %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
WORDS = ["<|im_end|>", "</s>", "<|im_start|>", "<unk>", "system", "user", "assistant", "what",
         "is", "2+2", "?", "be", "brief"]


def _save(d, params, template):
  tok_dir = d / "tok"
  tok_dir.mkdir()
  tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
  tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
  tok.add_special_tokens([AddedToken(t, special=True) for t in WORDS[:3]])
  tok.save(str(tok_dir / "tokenizer.json"))
  config = {"eos_token": "</s>"}
  if template:
    config["chat_template"] = template
  (tok_dir / "tokenizer_config.json").write_text(json.dumps(config))
  out = str(d / "ckpt")
  model_checkpoint.save(out, params, CFG, tokenizer_dir=str(tok_dir))
  return out


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig(), devices=jax.devices()[:1])
  params, _, _ = partitioning.init_sharded(lambda k: interface.init_boxed(CFG, k),
                                           jax.random.key(0), mesh, partitioning.DEFAULT_RULES)
  params["final_norm"]["scale"] = params["final_norm"]["scale"] * 0  # all logits 0 -> id 0
  return (_save(tmp_path_factory.mktemp("chat"), params, CHATML),
          _save(tmp_path_factory.mktemp("plain"), params, None))


def _run(ckpt, tmp_path, lines, max_new_tokens=5):
  inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
  inp.write_text("\n".join(json.dumps(l) for l in lines) + "\n")
  cfg = generate_lib.GenerateConfig(checkpoint=ckpt, input=str(inp), output=str(out),
                                    num_samples=2, max_new_tokens=max_new_tokens,
                                    temperature=0.0)
  generate_lib.run(cfg)
  return [json.loads(l) for l in out.read_text().splitlines()]


def test_messages_are_rendered_and_stop_at_end_of_turn(ckpts, tmp_path):
  transformers = pytest.importorskip("transformers")
  ckpt, _ = ckpts
  convs = [[{"role": "user", "content": "what is 2+2 ?"}],
           [{"role": "system", "content": "be brief"}, {"role": "user", "content": "2+2 ?"}]]
  rows = _run(ckpt, tmp_path, [{"messages": m, "id": i} for i, m in enumerate(convs)])
  hf = transformers.AutoTokenizer.from_pretrained(model_checkpoint.tokenizer_dir(ckpt))
  for i, (row, conv) in enumerate(zip(rows, convs)):
    assert row["id"] == i and row["messages"] == conv
    assert row["prompt_tokens"] == list(hf.apply_chat_template(
        conv, add_generation_prompt=True, tokenize=True, return_dict=False))
    assert row["prompt_tokens"][-2:] == [2, 6]  # <|im_start|> assistant
    for s in row["samples"]:
      assert s["tokens"] == [0]  # stopped at <|im_end|> (not the EOS)
      assert s["text"] == " "  # WordLevel decodes " <|im_end|>"; the end of turn is cut
  plain = _run(ckpt, tmp_path, [{"prompt": "what is"}])  # no chat: only EOS stops
  assert plain[0]["samples"][0]["tokens"] == [0] * 5


def test_chat_errors_name_checkpoint_line_and_template_message(ckpts, tmp_path):
  ckpt, no_template = ckpts
  msg = {"messages": [{"role": "user", "content": "2+2 ?"}]}
  with pytest.raises(ValueError, match=rf"checkpoint {no_template} has no chat template"):
    _run(no_template, tmp_path, [msg])
  bad = {"messages": [{"role": "tool", "content": "x"}]}
  with pytest.raises(ValueError, match=r"in\.jsonl: record 2: chat template of checkpoint .* "
                                       r"refused the conversation: no tools here"):
    _run(ckpt, tmp_path, [msg, bad])
  f = tmp_path / "mixed.jsonl"
  f.write_text(json.dumps(msg) + "\n" + json.dumps({"prompt": "x"}) + "\n")
  with pytest.raises(ValueError, match=r"mixed\.jsonl:2: has 'prompt' but line 1 has 'messages'"):
    jsonl_io.read_prompts(str(f))
  f.write_text(json.dumps({"messages": []}) + "\n")
  with pytest.raises(ValueError, match=r"mixed\.jsonl:1: 'messages' must be a non-empty list"):
    jsonl_io.read_prompts(str(f))
  f.write_text(json.dumps({"messages": [{"content": "x"}]}) + "\n")
  with pytest.raises(ValueError, match=r"mixed\.jsonl:1: messages\[0\] must be an object with"):
    jsonl_io.read_prompts(str(f))
  assert issubclass(chat_template.ChatTemplateError, ValueError)
