#!/usr/bin/env bash
# Create a Cloud TPU VM (single host or pod), ship the code, set up and start
# restem_jax on every worker.
#
# The job runs the same command on all workers (`--worker=all`), with
# --jax_distributed so main.py calls jax.distributed.initialize() and the workers
# find each other through the TPU metadata. See docs/launch.md.
set -euo pipefail

PROG=${0##*/}
LAUNCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "${LAUNCH_DIR}")
# shellcheck source-path=SCRIPTDIR source=command.sh
source "${LAUNCH_DIR}/command.sh"

usage() {
  cat <<EOF
Usage: launch/${PROG} COMMAND --name=NAME --zone=ZONE [flags] [--dry-run] [-- JOB_ARGS...]

Commands:
  create   create the TPU VM, or reuse it when it exists (needs --accelerator)
  setup    copy the working tree to every worker and run launch/setup_worker.sh there
  run      start the job on every worker under nohup (needs --config, --workdir)
  logs     stream the job logs (tail -F) from --worker (default all)
  status   show the TPU VM state and whether the job runs on each worker
  stop     stop the job on every worker
  delete   delete the TPU VM (no prompt)
  all      create, setup, run

Flags:
  --name=NAME            TPU VM name (required)
  --zone=ZONE            e.g. us-central2-b (required)
  --project=PROJECT      gcloud project (default: gcloud's configured project)
  --accelerator=TYPE     e.g. v4-8 (one host), v4-32 (pod), v5litepod-16
  --version=RUNTIME      TPU software version (default by generation:
                         v5litepod-*: v2-alpha-tpuv5-lite, v5p-*: v2-alpha-tpuv5,
                         v6e-*: v2-alpha-tpuv6e, others: tpu-ubuntu2204-base)
  --spot | --preemptible create a cheaper, preemptible VM
  --config=FILE          config file relative to the repo root, e.g. configs/toy_arith.py
  --workdir=PATH         job output; use gs://... on a pod, all workers share it
  --worker=W             worker for logs: all (default) or an index, e.g. 0
  --remote-dir=DIR       code directory on the workers, relative to home (default restem_jax)
  --dry-run              print the commands ("+ ..." lines) instead of running them
  -h, --help             show this help

JOB_ARGS after -- go verbatim to python -m restem_jax.main, e.g.
  launch/${PROG} all --name=rest --zone=us-central2-b --accelerator=v4-32 --spot \\
    --config=configs/toy_arith.py --workdir=gs://bucket/rest -- --config.sampler.temperature=0.7
EOF
}

COMMAND=""
NAME=""
ZONE=""
PROJECT=""
ACCELERATOR=""
VERSION=""
CAPACITY=""
CONFIG=""
WORKDIR=""
WORKER="all"
REMOTE_DIR="restem_jax"
REMOTE_LOG_DIR=""
JOB_ARGS=()

parse_args() {
  while (($#)); do
    case "$1" in
      --name=*) NAME=${1#*=} ;;
      --zone=*) ZONE=${1#*=} ;;
      --project=*) PROJECT=${1#*=} ;;
      --accelerator=*) ACCELERATOR=${1#*=} ;;
      --version=*) VERSION=${1#*=} ;;
      --spot | --preemptible)
        [[ -z "${CAPACITY}" || "${CAPACITY}" == "$1" ]] ||
          usage_error "--spot and --preemptible are mutually exclusive"
        CAPACITY=$1
        ;;
      --config=*) CONFIG=${1#*=} ;;
      --workdir=*) WORKDIR=${1#*=} ;;
      --worker=*) WORKER=${1#*=} ;;
      --remote-dir=*) REMOTE_DIR=${1#*=} ;;
      --dry-run) DRY_RUN=1 ;;
      -h | --help) usage; exit 0 ;;
      --) shift; JOB_ARGS=("$@"); break ;;
      create | setup | run | logs | status | stop | delete | all)
        [[ -z "${COMMAND}" ]] || usage_error "two commands given: ${COMMAND} and $1"
        COMMAND=$1
        ;;
      *) usage_error "unknown argument: $1 (job arguments go after --)" ;;
    esac
    shift
  done
  [[ -n "${COMMAND}" ]] || usage_error "missing command (create, setup, run, logs, status, stop, delete or all)"
  require_flag name "${NAME}"
  require_flag zone "${ZONE}"
  if [[ "${COMMAND}" == create || "${COMMAND}" == all ]]; then
    require_flag accelerator "${ACCELERATOR}"
  fi
  if [[ "${COMMAND}" == run || "${COMMAND}" == all ]]; then
    require_flag config "${CONFIG}"
    require_flag workdir "${WORKDIR}"
  elif ((${#JOB_ARGS[@]})); then
    usage_error "job arguments after -- only go with run or all"
  fi
  [[ "${WORKER}" =~ ^(all|[0-9]+)$ ]] || usage_error "bad --worker=${WORKER} (all or an index)"
  REMOTE_LOG_DIR="${REMOTE_DIR}_logs"
}

default_version() {
  case "$1" in
    v5litepod-*) echo v2-alpha-tpuv5-lite ;;
    v5p-*) echo v2-alpha-tpuv5 ;;
    v6e-*) echo v2-alpha-tpuv6e ;;
    *) echo tpu-ubuntu2204-base ;;
  esac
}

# gcloud compute tpus tpu-vm VERB NAME --zone=ZONE [--project=PROJECT] ARGS...
tpu_vm() {
  local cmd=(gcloud compute tpus tpu-vm "$1" "$2" "--zone=${ZONE}")
  [[ -n "${PROJECT}" ]] && cmd+=("--project=${PROJECT}")
  run "${cmd[@]}" "${@:3}"
}

# Runs a shell string on the given workers; the remote login shell parses it.
on_workers() {
  tpu_vm ssh "${NAME}" "--worker=$1" "--command=$2"
}

cmd_create() {
  local version=${VERSION:-$(default_version "${ACCELERATOR}")} found
  if ((DRY_RUN)); then
    tpu_vm describe "${NAME}" "--format=value(state,acceleratorType)"
    note "dry-run assumes ${NAME} does not exist; a real run skips the create below when it does"
    found=""
  else
    found=$(tpu_vm describe "${NAME}" "--format=value(state,acceleratorType)" 2>/dev/null) || found=""
  fi
  if [[ -n "${found}" ]]; then
    local state accelerator
    read -r state accelerator <<<"${found}"
    [[ "${state}" == READY ]] ||
      die "TPU VM ${NAME} exists but is ${state}; delete it (${PROG} delete) and create it again"
    [[ "${accelerator##*/}" == "${ACCELERATOR}" ]] ||
      die "TPU VM ${NAME} exists with accelerator ${accelerator}, not --accelerator=${ACCELERATOR}"
    note "TPU VM ${NAME} exists and is READY; reusing it"
    return 0
  fi
  local args=("${NAME}" "--accelerator-type=${ACCELERATOR}" "--version=${version}")
  [[ -n "${CAPACITY}" ]] && args+=("${CAPACITY}")
  tpu_vm create "${args[@]}"
}

# Ships the working tree (tracked and untracked files, minus .gitignore'd ones
# such as .venv) so uncommitted edits run too; the remote venv is kept.
cmd_copy() {
  local tarball="${TMPDIR:-/tmp}/restem_jax-${NAME}.tar.gz"
  local remote_tar="${REMOTE_DIR}.tar.gz" dir q_dir q_tar
  q_dir=$(quote_cmd "${REMOTE_DIR}")
  q_tar=$(quote_cmd "${remote_tar}")
  dir=$(quote_cmd "${ROOT}")
  git -C "${ROOT}" rev-parse --git-dir >/dev/null 2>&1 || die "${ROOT} is not a git checkout"
  run_sh "git -C ${dir} ls-files -z --cached --others --exclude-standard | tar -C ${dir} --null --files-from=- --ignore-failed-read -czf $(quote_cmd "${tarball}")"
  tpu_vm scp "${tarball}" "${NAME}:${remote_tar}" --worker=all
  on_workers all "mkdir -p ${q_dir} && find ${q_dir} -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} + && tar -xzf ${q_tar} -C ${q_dir} && rm -f ${q_tar}"
}

cmd_setup() {
  cmd_copy
  on_workers all "cd $(quote_cmd "${REMOTE_DIR}") && bash launch/setup_worker.sh --extras=tpu --system-packages"
}

# The remote script for `run`. The job's argv is quoted here once with printf %q,
# so workdirs and overrides reach main.py verbatim; `;` (not newlines) keeps the
# --command= value on one line.
remote_run_script() {
  local job=(.venv/bin/python -m restem_jax.main "--config=${CONFIG}" "--workdir=${WORKDIR}" --jax_distributed "${JOB_ARGS[@]}")
  local logs pid
  logs=$(quote_cmd "${REMOTE_LOG_DIR}")
  # shellcheck disable=SC2016  # $logs is expanded by the remote shell.
  pid='"$logs/job.pid"'
  printf '%s' "set -e; mkdir -p ${logs}; logs=\$(cd ${logs} && pwd); cd $(quote_cmd "${REMOTE_DIR}"); "
  printf '%s' "if [ -f ${pid} ] && kill -0 \"\$(cat ${pid})\" 2>/dev/null; then echo \"\$(hostname): job already running (pid \$(cat ${pid})); use ${PROG} stop\" >&2; exit 1; fi; "
  printf '%s' "nohup $(quote_cmd "${job[@]}") > \"\$logs/job-\$(hostname).log\" 2>&1 < /dev/null & echo \$! > ${pid}; "
  printf '%s' "echo \"\$(hostname): started pid \$!, log \$logs/job-\$(hostname).log\""
}

cmd_run() {
  [[ "${WORKDIR}" == gs://* ]] ||
    note "--workdir=${WORKDIR} is local to each worker; on a pod use gs:// so checkpoints are shared"
  on_workers all "$(remote_run_script)"
}

cmd_logs() {
  on_workers "${WORKER}" "tail -n 100 -F $(quote_cmd "${REMOTE_LOG_DIR}")/job-*.log"
}

cmd_status() {
  local pid
  pid="$(quote_cmd "${REMOTE_LOG_DIR}")/job.pid"
  tpu_vm describe "${NAME}" "--format=table(state,health,acceleratorType)"
  on_workers all "if [ -f ${pid} ] && kill -0 \"\$(cat ${pid})\" 2>/dev/null; then echo \"\$(hostname): running\"; else echo \"\$(hostname): not running\"; fi"
}

cmd_stop() {
  local pid
  pid="$(quote_cmd "${REMOTE_LOG_DIR}")/job.pid"
  on_workers all "if [ -f ${pid} ]; then kill \"\$(cat ${pid})\" 2>/dev/null || true; rm -f ${pid}; fi"
}

cmd_delete() {
  tpu_vm delete "${NAME}" --quiet
}

main() {
  parse_args "$@"
  case "${COMMAND}" in
    all) cmd_create; cmd_setup; cmd_run ;;
    *) "cmd_${COMMAND}" ;;
  esac
}

main "$@"
