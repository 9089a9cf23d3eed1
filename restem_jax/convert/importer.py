"""Import: a Hugging Face directory or a .gguf file -> a self-describing restem checkpoint.

Order, so that bad input fails before expensive work:
  1. open the source: headers/metadata only (an unknown GGUF key or tensor is refused here);
  2. `hf_convert.config_from_hf` on its HF config dict: an unsupported architecture or
     feature is refused here, naming the field, before any weight is read;
  3. refuse an existing, non-empty output directory;
  4. write the tokenizer files to a temporary directory (a tokenizer problem fails fast);
  5. convert tensor by tensor (`hf_convert.hf_to_params` over lazy tensors: each source
     tensor is read, dequantised or cast, re-laid-out and dropped before the next), so the
     host holds one copy of the converted params plus one source tensor;
  6. move the params into jax arrays one leaf at a time (`_into_jax_arrays`): Orbax saves
     jax arrays from their own buffers but copies a numpy tree whole into its write
     buffers (a 1 GiB numpy tree adds 1 GiB of RSS at save, the same tree as jax arrays
     ~0). The imports still peak well above one copy of the params (0.5B GGUF: 7.2 GB for
     2.5 GB of params; 1.5B: 18.3 GB before this step, for 7.1 GB): see BENCHMARKS.md 10;
  7. write tokenizer/, model_config.json and the Orbax params (model_checkpoint.save).
"""

from __future__ import annotations

import os
import tempfile
import time

import jax
import numpy as np
from absl import logging

from restem_jax.checkpoint import model_checkpoint
from restem_jax.convert.hf_source import HFSource, SourceError
from restem_jax.convert import hf_convert


def open_source(source: str, gguf_head: str = "keep"):
  """A .gguf file or a Hugging Face model directory; SourceError naming `source` otherwise.
  gguf_head: GGUFSource's `head` ('keep' or 'tie' a stored `output` tensor)."""
  if source.endswith(".gguf"):
    try:
      from restem_jax.convert import gguf_source  # pylint: disable=import-outside-toplevel
    except ImportError as e:
      raise ImportError(f"importing {source} needs the `gguf` package: pip install -e "
                        "'.[convert]'") from e
    return gguf_source.GGUFSource(source, head=gguf_head)
  if os.path.isdir(source):
    return HFSource(source)
  raise SourceError(f"--source={source!r} is neither a .gguf file nor a Hugging Face model "
                    "directory (config.json + *.safetensors + tokenizer files).")


def _check_out(out: str) -> None:
  if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
    raise FileExistsError(f"--out={out} already exists and is not empty; choose a new directory.")


def _into_jax_arrays(tree: dict) -> None:
  """Replaces every numpy leaf of the nested dict `tree` by a jax array, in place and one
  leaf at a time, so the host never holds both copies of more than one tensor."""
  for key, value in tree.items():
    if isinstance(value, dict):
      _into_jax_arrays(value)
    elif isinstance(value, np.ndarray):
      tree[key] = jax.device_put(value)
      del value  # the numpy leaf's last reference: freed before the next leaf is copied


def import_model(source: str, out: str, *, param_dtype: str = "float32",
                 dtype: str = "float32", gguf_head: str = "keep") -> dict:
  """Converts `source` into the checkpoint directory `out`; returns a summary dict."""
  t0 = time.perf_counter()
  src = open_source(source, gguf_head)
  cfg = hf_convert.config_from_hf(src.config, dtype=dtype, param_dtype=param_dtype)
  _check_out(out)
  tensors = src.tensors()
  logging.info("importing %s (%s, %d tensors) as %s", source, src.kind, len(tensors), cfg)
  with tempfile.TemporaryDirectory(prefix="restem_tokenizer_") as tok_dir:
    tokenizer_files = src.write_tokenizer(tok_dir)  # before the weights: fails fast, frees early
    params = hf_convert.hf_to_params(cfg, tensors)
    _into_jax_arrays(params)  # Orbax would copy a numpy tree whole at save
    meta = {"source": os.path.abspath(source), "source_format": src.kind,
            "tokenizer_files": tokenizer_files}
    model_checkpoint.save(out, params, cfg, tokenizer_dir=tok_dir, meta=meta)
  del params
  summary = dict(meta, out=out, num_params=cfg.num_params(),
                 seconds=round(time.perf_counter() - t0, 2))
  logging.info("imported %s -> %s in %.1fs", source, out, summary["seconds"])
  return summary
