"""Ahead-of-time memory plan: will this run fit on that TPU slice? Answered on a CPU machine.

  python -m restem_jax.plan --config=configs/paper_scale.py:llama3_8b --topology=v5p:2x4x4

compiles the exact programs a run executes (E-step decode, evaluation decodes, the M-step
train step) for the topology, on abstract inputs, and prints per program

  PLAN <program> per_device_bytes=<int> device_hbm_bytes=<int> fits=<yes|no> flops=<float>

with a table (arguments, outputs, temporaries) and what to change when it does not fit.
TPU topologies need libtpu (`pip install -e ".[tpu]"` in its own virtualenv);
`--topology=cpu` plans for this host's CPU devices (what CI runs).
This file is intentionally kept short.
"""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # compile for the topology; never probe for a TPU

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top,wrong-import-position

_CONFIG = config_flags.DEFINE_config_file("config", None, "Run config file.", lock_config=True)
_TOPOLOGY = flags.DEFINE_string("topology", "cpu", "TPU topology, e.g. v5p:2x4x4, v5e:2x4; "
                                "or 'cpu' (this host's CPU devices).")
_HBM_GIB = flags.DEFINE_float("hbm_gib", 0.0, "Device memory in GiB (0 = by device kind).")
_PROGRAMS = flags.DEFINE_list("programs", "estep_decode,eval_decode,greedy_decode,mstep_train",
                              "Programs to compile.")
_OPT_LAYOUT = flags.DEFINE_enum("opt_state_layout", "sharded", ["sharded", "replicated"],
                                "'replicated' plans the pre-FSDP optimizer-state layout "
                                "(for before/after comparisons).")
_PREFIX_LEN = flags.DEFINE_integer("prefix_len", 0, "Shared prompt-prefix tokens the cascade "
                                   "engine prefills once per E-step chunk (0: none).")
flags.mark_flags_as_required(["config"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  from restem_jax.aot import plan_run  # pylint: disable=g-import-not-at-top
  from restem_jax.config import schema  # pylint: disable=g-import-not-at-top
  plans = plan_run.plan(schema.build(_CONFIG.value.to_dict()), plan_run.PlanOptions(
      topology=_TOPOLOGY.value, hbm_gib=_HBM_GIB.value, programs=tuple(_PROGRAMS.value),
      opt_state_layout=_OPT_LAYOUT.value, prefix_len=_PREFIX_LEN.value))
  return 0 if all(p.fits for p in plans) else 1


if __name__ == "__main__":
  app.run(main)
