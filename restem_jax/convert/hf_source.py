"""A Hugging Face model directory as a conversion source.

    config.json                      -> `config` (the HF config dict)
    model.safetensors or
    model-0000i-of-0000n.safetensors
      + model.safetensors.index.json -> `tensors()`: HF name -> LazyTensor, read one tensor at a
                                        time with `safetensors.safe_open` (memory-mapped)
    tokenizer.json, tokenizer_config.json, ... -> `write_tokenizer(dest)` copies them (chat
                                        templates too: chat_template.jinja, additional_chat_templates/)

Only headers are read when the source is opened, so an unsupported architecture is refused
before any weight is read.
"""

from __future__ import annotations

import json
import os

import ml_dtypes
import numpy as np
from safetensors import safe_open

from restem_jax.checkpoint import model_checkpoint
from restem_jax.convert.lazy_tensors import LazyTensor, LazyTensorMap

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F64": np.float64,
           "I64": np.int64, "I32": np.int32, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class SourceError(ValueError):
  """The conversion source is missing something or is not a supported format; names it."""


def _read_tensor(file: str, name: str) -> np.ndarray:
  with safe_open(file, framework="numpy") as f:
    return f.get_tensor(name)


class HFSource:
  """A `save_pretrained` directory: config.json + safetensors (+ tokenizer files)."""

  kind = "hf"

  def __init__(self, path: str):
    self.path = path
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
      raise SourceError(f"{config_path} does not exist: not a Hugging Face model directory.")
    with open(config_path) as f:
      self.config = json.load(f)

  def weight_files(self) -> list[str]:
    index = os.path.join(self.path, INDEX_FILE)
    if os.path.isfile(index):
      with open(index) as f:
        names = sorted(set(json.load(f)["weight_map"].values()))
    elif os.path.isfile(os.path.join(self.path, WEIGHTS_FILE)):
      names = [WEIGHTS_FILE]
    else:
      raise SourceError(f"{self.path}: neither {WEIGHTS_FILE} nor {INDEX_FILE} found "
                        "(pytorch_model.bin checkpoints are not read; convert them to "
                        "safetensors with transformers' save_pretrained).")
    files = [os.path.join(self.path, n) for n in names]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
      raise SourceError(f"{INDEX_FILE} names shard(s) that do not exist: {missing}")
    return files

  def tensors(self) -> LazyTensorMap:
    """HF tensor name -> LazyTensor (headers only are read here)."""
    out = {}
    for file in self.weight_files():
      with safe_open(file, framework="numpy") as f:
        for name in f.keys():
          sl = f.get_slice(name)
          dtype = _DTYPES.get(sl.get_dtype(), np.float32)
          out[name] = LazyTensor(sl.get_shape(), dtype,
                                 lambda file=file, name=name: _read_tensor(file, name), name)
    return LazyTensorMap(out)

  def write_tokenizer(self, dest: str) -> list[str]:
    """Copies the tokenizer files (and generation_config.json) into `dest`."""
    os.makedirs(dest, exist_ok=True)
    present = model_checkpoint.tokenizer_file_names(self.path)
    if not present:
      raise SourceError(f"{self.path} holds no tokenizer file (one of "
                        f"{model_checkpoint.TOKENIZER_FILES}); a checkpoint needs its tokenizer.")
    for n in present:
      os.makedirs(os.path.dirname(os.path.join(dest, n)), exist_ok=True)
      with open(os.path.join(self.path, n), "rb") as src, open(os.path.join(dest, n), "wb") as dst:
        dst.write(src.read())
    return present
