"""Self-describing model checkpoints: Orbax params + the model config + the tokenizer.

A checkpoint directory CKPT holds

    CKPT/<step>/...          the Orbax params checkpoint (`manager` layout, params + meta)
    CKPT/model_config.json   the `ModelConfig` fields (flat JSON object)
    CKPT/tokenizer/          HF tokenizer files (tokenizer.json, tokenizer_config.json, ...,
                             chat_template.jinja [+ additional_chat_templates/NAME.jinja])
                             or tokenizer.model; absent for the toy char vocabulary

so that `--config.base.checkpoint=CKPT`, `--config.teacher.checkpoint=CKPT` and every
`--checkpoint` CLI take the architecture and tokenizer from CKPT itself.

    save(ckpt_dir, params, model_cfg, tokenizer_dir=..., meta=...)
    read_model_config(ckpt_dir) -> ModelConfig
    tokenizer_dir(ckpt_dir) -> str | None
    restore(ckpt_dir, model_cfg, mesh, rules) -> (params, meta)

Restore targets come from `jax.eval_shape` of the initialiser plus the shardings of its
logical axis specs: no real initialisation, no second copy of the params.
On disk the params are always per-layer (`block_i`); a model run with
`scan_layers=True` holds them stacked, and `save` / `restore` convert at this boundary
(`restem_jax.model.layer_stack`), so either layout reads and writes the same checkpoints.
All file access goes through `restem_jax.io` (etils.epath: local, gs://, ...).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import flax.linen as nn
import jax

from restem_jax import io
from restem_jax.from_dict import from_dict
from restem_jax.checkpoint import manager, model_spec
from restem_jax.checkpoint.manager import CheckpointError
from restem_jax.model import interface, layer_stack
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import divisibility
from restem_jax.sharding import partitioning

MODEL_CONFIG_FILE = "model_config.json"
TOKENIZER_SUBDIR = "tokenizer"
# Files copied from a tokenizer directory (whichever exist): HF fast/slow tokenizers,
# SentencePiece/tiktoken models, chat templates and the generation config (EOS ids).
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
    "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja",
    "chat_template.json", "generation_config.json")
# transformers' named chat templates beside chat_template.jinja (NAME.jinja), copied too.
CHAT_TEMPLATES_DIR = "additional_chat_templates"

__all__ = ["CheckpointError", "MODEL_CONFIG_FILE", "TOKENIZER_SUBDIR", "abstract_params",
           "has_model_config", "model_config_for", "read_model_config", "restore", "save",
           "tokenizer_dir", "tokenizer_file_names", "write_model_config"]


# ----------------------------------------------------------------------------- config


def config_to_json(model_cfg: ModelConfig) -> dict[str, Any]:
  return dataclasses.asdict(model_cfg)


def config_from_json(values: dict[str, Any], source: str) -> ModelConfig:
  """ModelConfig from a JSON dict, naming `source` and the field on any error (a field
  this version does not know: written by a newer restem_jax?)."""
  try:
    return from_dict(ModelConfig, values, source)
  except ValueError as e:
    raise CheckpointError(f"invalid model config: {e}") from e


def write_model_config(ckpt_dir: str, model_cfg: ModelConfig) -> None:
  io.makedirs(ckpt_dir)
  io.write_json_atomic(io.join(ckpt_dir, MODEL_CONFIG_FILE), config_to_json(model_cfg), indent=2)


def has_model_config(ckpt_dir: str) -> bool:
  return io.exists(io.join(ckpt_dir, MODEL_CONFIG_FILE))


def read_model_config(ckpt_dir: str) -> ModelConfig:
  """CKPT/model_config.json -> ModelConfig; a clear CheckpointError when absent or corrupt."""
  path = io.join(ckpt_dir, MODEL_CONFIG_FILE)
  if not io.exists(path):
    raise CheckpointError(
        f"{path} does not exist: {ckpt_dir} is not a self-describing restem_jax checkpoint "
        "(write one with `python -m restem_jax.convert import` or model_checkpoint.save).")
  try:
    values = io.read_json(path)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise CheckpointError(f"{path} is corrupt (not JSON): {e}") from e
  if not isinstance(values, dict):
    raise CheckpointError(
        f"{path} is corrupt: expected a JSON object, got {type(values).__name__}.")
  return config_from_json(values, path)


def model_config_for(values: dict[str, Any], ckpt_dir: str | None, *,
                     section: str = "model") -> ModelConfig:
  """The run's ModelConfig: `config.<section>` values merged with CKPT/model_config.json.

  None values are unset and come from the checkpoint; set ones must agree with it (see
  model_spec). `ckpt_dir` None/'' or a checkpoint without model_config.json: every
  field must be set.
  """
  if ckpt_dir and has_model_config(ckpt_dir):
    return model_spec.merge(values, read_model_config(ckpt_dir), section=section,
                            source=io.join(ckpt_dir, MODEL_CONFIG_FILE))
  field = f"config.{model_spec.checkpoint_field(section)}"
  if not ckpt_dir:
    source = f"{field} is empty"
  elif not io.exists(ckpt_dir):
    source = f"{field}={ckpt_dir!r} does not exist"
  else:
    source = f"{field}={ckpt_dir!r} has no {MODEL_CONFIG_FILE}"
  return model_spec.merge(values, None, section=section, source=source)


# ----------------------------------------------------------------------------- tokenizer


def tokenizer_dir(ckpt_dir: str) -> str | None:
  """CKPT/tokenizer when the checkpoint carries tokenizer files, else None (char vocab)."""
  d = io.join(ckpt_dir, TOKENIZER_SUBDIR)
  return d if io.listdir(d) else None


def tokenizer_file_names(src: str) -> list[str]:
  """The tokenizer files directory `src` holds, as paths relative to it: TOKENIZER_FILES, then
  additional_chat_templates/NAME.jinja."""
  names = [n for n in TOKENIZER_FILES if io.exists(io.join(src, n))]
  extra = io.join(src, CHAT_TEMPLATES_DIR)
  return names + [f"{CHAT_TEMPLATES_DIR}/{n}" for n in io.listdir(extra) if n.endswith(".jinja")]


def copy_tokenizer(src: str, ckpt_dir: str) -> list[str]:
  """Copies the tokenizer files of directory `src` (or the single file `src`) into CKPT/tokenizer.

  Returns the copied file names; raises when `src` holds no tokenizer file.
  """
  if io.isdir(src):
    names = tokenizer_file_names(src)
    files = [io.join(src, n) for n in names]
  elif io.exists(src):  # a single model file; a SentencePiece model is always tokenizer.model
    name = io.path(src).name
    names, files = ["tokenizer.model" if name.endswith(".model") else name], [src]
  else:
    raise FileNotFoundError(f"tokenizer source {src} does not exist.")
  if not files:
    raise FileNotFoundError(f"tokenizer source {src} holds none of {TOKENIZER_FILES}.")
  dest = io.join(ckpt_dir, TOKENIZER_SUBDIR)
  io.makedirs(dest)
  if any(n.startswith(f"{CHAT_TEMPLATES_DIR}/") for n in names):
    io.makedirs(io.join(dest, CHAT_TEMPLATES_DIR))
  for name, f in zip(names, files):
    io.write_bytes(io.join(dest, name), io.read_bytes(f))
  return names


# ----------------------------------------------------------------------------- params


def abstract_params(model_cfg: ModelConfig, mesh, rules):
  """Restore targets: `jax.ShapeDtypeStruct` leaves with NamedShardings, no initialisation.

  Shapes come from `jax.eval_shape` of the initialiser; shardings from its logical axis
  specs under `rules`; dtypes are `model_cfg.param_dtype` (a checkpoint saved in another
  dtype is cast on restore).
  """
  boxed = jax.eval_shape(lambda k: interface.init_boxed(model_cfg, k), jax.random.key(0))
  logical_specs = nn.get_partition_spec(boxed)
  shardings = partitioning.logical_to_shardings(logical_specs, mesh, rules)
  shapes = nn.meta.unbox(boxed)
  divisibility.check(shapes, logical_specs, shardings, model_cfg.vocab_size)  # before any read
  return jax.tree.map(
      lambda s, sh: jax.ShapeDtypeStruct(s.shape, model_cfg.weight_dtype, sharding=sh),
      shapes, shardings)


def save(ckpt_dir: str, params, model_cfg: ModelConfig, *, tokenizer_dir: str | None = None,
         meta: dict | None = None) -> None:
  """Writes a self-describing checkpoint: the Orbax params, then tokenizer/ and model_config.json.

  model_config.json is written last (after Orbax's commit), so its presence marks a complete
  self-describing checkpoint (and staged Orbax writes never copy it around).
  `tokenizer_dir` is a directory of tokenizer files (see TOKENIZER_FILES) or a single
  tokenizer file (e.g. a SentencePiece .model); None for the toy char vocabulary.
  """
  params = layer_stack.of(model_cfg).to_disk(model_cfg, params)  # per-layer on disk
  manager.save_params(str(ckpt_dir), params, meta=meta)  # every process: Orbax is collective
  if jax.process_index() == 0:  # the JSON and tokenizer files: one writer
    if tokenizer_dir:
      copy_tokenizer(tokenizer_dir, ckpt_dir)
    write_model_config(ckpt_dir, model_cfg)


def restore(ckpt_dir: str, model_cfg: ModelConfig, mesh, rules):
  """(params, meta) of CKPT, placed on `mesh` with the shardings `rules` give each param.

  When CKPT has a model_config.json, `model_cfg` must describe the same architecture (see
  `model_spec.resolve`); a stored param whose shape differs from the config's is an error
  naming the parameter (as stored, per layer) and both shapes.
  """
  if has_model_config(ckpt_dir):
    model_spec.check_compatible(model_cfg, read_model_config(ckpt_dir),
                                io.join(ckpt_dir, MODEL_CONFIG_FILE))
  disk_cfg = layer_stack.disk_config(model_cfg)
  params, meta = manager.restore_params(str(ckpt_dir), abstract_params(disk_cfg, mesh, rules))
  return layer_stack.of(model_cfg).from_disk(
      model_cfg, params, abstract_params(model_cfg, mesh, rules)), meta
