"""`convert import` / `export` keep a model's chat templates (HF directory and GGUF metadata)."""

import json
import os

import numpy as np
import pytest

from restem_jax.checkpoint import model_checkpoint
from restem_jax.convert import exporter, gguf_chat_template, importer
from restem_jax.checkpoint import chat_template_file
from restem_jax.vocab import chat_template as ct

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")

VOCAB = 32
CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
          "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|im_start|>assistant\n' }}{% endif %}")
TOOL_USE = "{{ raise_exception('tool_use needs tools: ' + (messages|length|string)) }}"
MESSAGES = [{"role": "user", "content": "w5 w6"}]


def _tokenizer():
  from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers  # pylint: disable=import-outside-toplevel
  vocab = {"<pad>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "<unk>": 3}
  vocab.update({f"w{i}": i for i in range(4, VOCAB)})
  tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
  tok.pre_tokenizer = pre_tokenizers.Whitespace()
  tok.add_special_tokens([AddedToken(t, special=True) for t in ("<|im_start|>", "<|im_end|>")])
  return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                              pad_token="<pad>", unk_token="<unk>")


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
  """A tiny random Llama whose tokenizer_config.json lists two named chat templates."""
  torch.manual_seed(0)
  cfg = transformers.LlamaConfig(
      vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
      tie_word_embeddings=False, bos_token_id=None, eos_token_id=2, pad_token_id=0)
  path = str(tmp_path_factory.mktemp("hf") / "model")
  transformers.LlamaForCausalLM(cfg).save_pretrained(path)
  _tokenizer().save_pretrained(path)
  config_path = os.path.join(path, "tokenizer_config.json")
  with open(config_path) as f:
    config = json.load(f)
  config["chat_template"] = [{"name": "default", "template": CHATML},
                             {"name": "tool_use", "template": TOOL_USE}]
  with open(config_path, "w") as f:
    json.dump(config, f)
  for name in os.listdir(path):  # the templates live in tokenizer_config.json only
    assert not name.endswith(".jinja") and name != "additional_chat_templates"
  return path


def test_hf_import_and_export_keep_named_templates(hf_dir, tmp_path):
  ckpt = str(tmp_path / "ckpt")
  importer.import_model(hf_dir, ckpt)
  tpl = chat_template_file.load_chat_template(ckpt)
  assert (tpl.source, tpl.end_of_turn) == (CHATML, "<|im_end|>")
  with pytest.raises(ct.ChatTemplateError, match=rf"checkpoint {ckpt} refused the conversation: "
                                                   "tool_use needs tools: 1"):
    chat_template_file.load_chat_template(ckpt, name="tool_use").render(MESSAGES)
  out = str(tmp_path / "export")
  exporter.export_model(ckpt, out)
  tok = transformers.AutoTokenizer.from_pretrained(out)
  assert tok.chat_template == {"default": CHATML, "tool_use": TOOL_USE}
  ref = tok.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True,
                                return_dict=False)
  back = ct.from_tokenizer_dir(out)
  ids = [int(i) for i in tok.encode(back.render(MESSAGES), add_special_tokens=False)]
  assert ids == list(ref) == [1, 3, 5, 6, 2, 1, 3]  # <|im_start|> user(unk) w5 w6 <|im_end|> ...
  with pytest.raises(Exception, match="tool_use needs tools"):
    tok.apply_chat_template(MESSAGES, chat_template="tool_use")


def _tiny_gguf(path, **templates):
  w = gguf.GGUFWriter(str(path), "llama")
  for name, text in templates.items():
    w.add_string("tokenizer.chat_template" + ("" if name == "default" else f".{name}"), text)
  w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
  w.write_header_to_file()
  w.write_kv_data_to_file()
  w.write_tensors_to_file()
  w.close()


def test_gguf_templates_become_jinja_files(tmp_path):
  path = tmp_path / "t.gguf"
  text = CHATML + "\r\n{# tail é #}"
  _tiny_gguf(path, default=text, tool_use=TOOL_USE)
  dest = tmp_path / "tok"
  dest.mkdir()
  files = gguf_chat_template.write(gguf.GGUFReader(str(path)), str(dest))
  assert files == [ct.TEMPLATE_FILE, f"{model_checkpoint.CHAT_TEMPLATES_DIR}/tool_use.jinja"]
  assert (dest / ct.TEMPLATE_FILE).read_bytes() == text.encode("utf-8")  # byte for byte
  # read back as transformers reads the file (text mode: universal newlines)
  with open(dest / ct.TEMPLATE_FILE, encoding="utf-8") as f:
    as_transformers_reads = f.read()
  assert "\r" not in as_transformers_reads
  assert ct.read_templates(str(dest)) == {"default": as_transformers_reads, "tool_use": TOOL_USE}


def test_gguf_without_template_writes_nothing(tmp_path):
  path = tmp_path / "none.gguf"
  _tiny_gguf(path)
  assert gguf_chat_template.write(gguf.GGUFReader(str(path)), str(tmp_path)) == []
  assert not os.path.exists(tmp_path / ct.TEMPLATE_FILE)
