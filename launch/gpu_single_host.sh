#!/usr/bin/env bash
# Set up and run restem_jax on the GPUs of this machine (one host, no
# jax.distributed). The job runs in the foreground; its output also goes to
# LOG_DIR/job.log (LOG_DIR defaults to the workdir). See docs/launch.md.
set -euo pipefail

PROG=${0##*/}
LAUNCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "${LAUNCH_DIR}")
# shellcheck source-path=SCRIPTDIR source=command.sh
source "${LAUNCH_DIR}/command.sh"

usage() {
  cat <<EOF
Usage: launch/${PROG} --config=FILE --workdir=PATH [flags] [--dry-run] [-- JOB_ARGS...]

Runs launch/setup_worker.sh --extras=gpu (a no-op when already done), then
python -m restem_jax.main on the local GPUs. Relative paths are relative to the
repo root (${ROOT}).

  --config=FILE        config file, e.g. configs/toy_arith.py (required)
  --workdir=PATH       job output directory, local or gs://... (required)
  --log-dir=DIR        where job.log goes (default: the workdir; runs/logs for gs://)
  --mem-fraction=F     XLA_PYTHON_CLIENT_MEM_FRACTION (default 0.9; JAX's own is 0.75)
  --gpus=LIST          CUDA_VISIBLE_DEVICES, e.g. 0,1 (default: all GPUs)
  --skip-setup         do not run setup_worker.sh
  --dry-run            print the commands ("+ ..." lines) instead of running them
  -h, --help           show this help

JOB_ARGS after -- go verbatim to python -m restem_jax.main, e.g.
  launch/${PROG} --config=configs/toy_arith.py --workdir=runs/toy -- --config.sampler.temperature=0.7
EOF
}

CONFIG=""
WORKDIR=""
LOG_DIR=""
MEM_FRACTION="0.9"
GPUS=""
SKIP_SETUP=0
JOB_ARGS=()

parse_args() {
  while (($#)); do
    case "$1" in
      --config=*) CONFIG=${1#*=} ;;
      --workdir=*) WORKDIR=${1#*=} ;;
      --log-dir=*) LOG_DIR=${1#*=} ;;
      --mem-fraction=*) MEM_FRACTION=${1#*=} ;;
      --gpus=*) GPUS=${1#*=} ;;
      --skip-setup) SKIP_SETUP=1 ;;
      --dry-run) DRY_RUN=1 ;;
      -h | --help) usage; exit 0 ;;
      --) shift; JOB_ARGS=("$@"); break ;;
      *) usage_error "unknown argument: $1 (job arguments go after --)" ;;
    esac
    shift
  done
  require_flag config "${CONFIG}"
  require_flag workdir "${WORKDIR}"
  [[ "${MEM_FRACTION}" =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] ||
    usage_error "bad --mem-fraction=${MEM_FRACTION} (a number in (0, 1])"
  if [[ -z "${LOG_DIR}" ]]; then
    if [[ "${WORKDIR}" == gs://* ]]; then LOG_DIR="runs/logs"; else LOG_DIR="${WORKDIR}"; fi
  fi
}

main() {
  parse_args "$@"
  change_dir "${ROOT}"
  if ((!SKIP_SETUP)); then
    run bash launch/setup_worker.sh --extras=gpu
  fi
  run mkdir -p "${LOG_DIR}"
  local env=(env "XLA_PYTHON_CLIENT_MEM_FRACTION=${MEM_FRACTION}")
  [[ -n "${GPUS}" ]] && env+=("CUDA_VISIBLE_DEVICES=${GPUS}")
  local job=(.venv/bin/python -m restem_jax.main "--config=${CONFIG}" "--workdir=${WORKDIR}" "${JOB_ARGS[@]}")
  run_sh "$(quote_cmd "${env[@]}" "${job[@]}") 2>&1 | tee -a $(quote_cmd "${LOG_DIR}/job.log")"
}

main "$@"
