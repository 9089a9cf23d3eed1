#!/usr/bin/env bash
# Idempotent per-host setup: a venv at the repo root with restem_jax installed.
#
# Runs on every TPU worker (started by tpu_pod.sh) and on a single GPU host
# (started by gpu_single_host.sh). A marker file in the venv records a hash of the
# install inputs; a second run with the same hash does nothing, so starting it on
# every worker before every job costs a second.
set -euo pipefail

PROG=${0##*/}
LAUNCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "${LAUNCH_DIR}")
# shellcheck source-path=SCRIPTDIR source=command.sh
source "${LAUNCH_DIR}/command.sh"

usage() {
  cat <<EOF
Usage: launch/${PROG} --extras=EXTRAS [--venv=DIR] [--python=PYTHON] [--force] [--dry-run]

Creates a venv (skipped if present) and runs pip install -e ".[EXTRAS]" in the repo
root (${ROOT}). Skips everything when the marker DIR/.restem_setup_hash matches.

  --extras=EXTRAS   package extras: tpu (jax[tpu]) or gpu (jax[cuda12]); required
  --venv=DIR        venv directory, relative to the repo root (default .venv)
  --python=PYTHON   interpreter that creates the venv (default python3)
  --force           reinstall even when the marker matches
  --dry-run         print the commands ("+ ..." lines) instead of running them
  -h, --help        show this help
EOF
}

EXTRAS=""
VENV=".venv"
PYTHON="python3"
FORCE=0

parse_args() {
  local arg
  for arg in "$@"; do
    case "${arg}" in
      --extras=*) EXTRAS=${arg#*=} ;;
      --venv=*) VENV=${arg#*=} ;;
      --python=*) PYTHON=${arg#*=} ;;
      --force) FORCE=1 ;;
      --dry-run) DRY_RUN=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage_error "unknown argument: ${arg}" ;;
    esac
  done
  require_flag extras "${EXTRAS}"
  [[ "${EXTRAS}" =~ ^[a-z0-9_,-]+$ ]] || usage_error "bad --extras=${EXTRAS} (expected e.g. tpu or gpu)"
}

# Hash of what the install depends on. Source edits are not in it on purpose: an
# editable install picks them up without reinstalling; dependency changes are.
install_hash() {
  local python_version inputs=() f
  python_version=$("${PYTHON}" --version 2>&1) || die "cannot run --python=${PYTHON}"
  for f in pyproject.toml setup.py setup.cfg; do
    [[ -f "${ROOT}/${f}" ]] && inputs+=("${ROOT}/${f}")
  done
  ((${#inputs[@]})) || die "no pyproject.toml in ${ROOT}: is this the restem_jax checkout?"
  { printf 'extras=%s\n%s\n' "${EXTRAS}" "${python_version}"; cat "${inputs[@]}"; } |
    sha256sum | cut -d' ' -f1
}

main() {
  parse_args "$@"
  local hash marker venv_python
  hash=$(install_hash)
  marker="${VENV}/.restem_setup_hash"
  venv_python="${VENV}/bin/python"
  change_dir "${ROOT}"
  if ((!FORCE)) && [[ -x "${venv_python}" && -f "${marker}" ]] &&
    [[ "$(<"${marker}")" == "${hash}" ]]; then
    note "setup already done (install hash ${hash:0:12}); skipping"
    return 0
  fi
  if [[ -x "${venv_python}" ]]; then
    note "venv ${VENV} exists; reusing it"
  else
    run "${PYTHON}" -m venv "${VENV}"
  fi
  run "${venv_python}" -m pip install --upgrade pip
  run "${venv_python}" -m pip install -e ".[${EXTRAS}]"
  # Written last, so an interrupted install is redone next time.
  run_sh "printf '%s\\n' $(quote_cmd "${hash}") > $(quote_cmd "${marker}")"
}

main "$@"
