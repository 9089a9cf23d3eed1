"""Entry point: parse flags, initialise multi-host JAX if asked, call the library.

  python -m restem_jax.main --config=configs/toy_arith.py --workdir=W [--config.x=y ...]

Multi-host: on a TPU pod pass --jax_distributed (JAX finds its peers itself); elsewhere
start one process per host (or N on one machine) with --coordinator_address=HOST:PORT
--num_processes=N --process_id=I. Every process runs the same command and workdir.

The card's ConfigDict becomes the typed `RunConfig` here, once (restem_jax/config/schema.py):
a key that is not a field, or a value of the wrong type, fails before any JAX work.
This file is intentionally kept short.
"""

import logging as std_logging

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and results.")
_JAX_DISTRIBUTED = flags.DEFINE_bool("jax_distributed", False,
                                     "Call jax.distributed.initialize() (multi-host TPU pods).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "host:port of process 0 (jax.distributed.initialize).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes in the run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index, 0..N-1.")
flags.mark_flags_as_required(["config", "workdir"])


class _QuietLibraries(std_logging.Filter):
  """Drops INFO records of chatty libraries: Orbax logs every checkpoint file operation,
  and JAX logs each accelerator backend it probed and did not find."""

  _CHATTY = ("/orbax/", "jax/_src/xla_bridge.py")

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or not any(
        c in record.pathname for c in self._CHATTY)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.get_absl_handler().addFilter(_QuietLibraries())
  from restem_jax.config import schema  # pylint: disable=g-import-not-at-top
  rc = schema.build(_CONFIG.value.to_dict())
  import jax  # pylint: disable=g-import-not-at-top
  explicit = (_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  if any(v is not None for v in explicit):
    if any(v is None for v in explicit):
      raise app.UsageError("--coordinator_address, --num_processes and --process_id go "
                           "together (on a TPU pod use --jax_distributed alone).")
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                               num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value)
  elif _JAX_DISTRIBUTED.value or rc.jax_distributed:
    jax.distributed.initialize()
  logging.info("JAX devices: %s (process %d of %d)", jax.devices(), jax.process_index(),
               jax.process_count())
  from restem_jax import tf_quiet  # pylint: disable=g-import-not-at-top
  tf_quiet.prepare_tensorflow()
  from restem_jax.loop import runner  # pylint: disable=g-import-not-at-top
  runner.run(rc, _WORKDIR.value)


if __name__ == "__main__":
  app.run(main)
