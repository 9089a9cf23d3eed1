r"""`python -m restem_jax.convert import|export`: models in and out of restem_jax.

    python -m restem_jax.convert import --source=SRC --out=CKPT [--param_dtype=bfloat16]
        SRC: a Hugging Face model directory (config.json, *.safetensors [+ index],
        tokenizer files) or a llama-architecture .gguf file (dequantised to fp32).
    python -m restem_jax.convert export --checkpoint=CKPT --out=HF_DIR
        HF_DIR: model.safetensors, config.json, generation_config.json, tokenizer files.
        A LoRA M-step checkpoint (adapters + base pointer) exports the merged model;
        --adapter=PEFT_DIR also writes the adapters as a PEFT adapter directory.

See docs/models.md.
"""

from __future__ import annotations

import json
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

_USAGE = "usage: python -m restem_jax.convert import|export --help"


def _require(flag, command: str) -> str:
  if not flag.value:
    raise app.UsageError(f"{command} needs --{flag.name}.")
  return flag.value


def main(argv):
  if len(argv) != 2 or argv[1] not in ("import", "export"):
    raise app.UsageError(f"expected one command, 'import' or 'export'; got {argv[1:]}. {_USAGE}")
  out = _require(_OUT, argv[1])
  if argv[1] == "import":
    from restem_jax.convert import importer  # pylint: disable=import-outside-toplevel
    summary = importer.import_model(_require(_SOURCE, "import"), out,
                                    param_dtype=_PARAM_DTYPE.value, dtype=_DTYPE.value)
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
