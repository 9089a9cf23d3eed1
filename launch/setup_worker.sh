#!/usr/bin/env bash
# Idempotent per-host setup: a venv at the repo root with restem_jax installed.
#
# restem_jax needs Python >= 3.11 (jax 0.10.2 and numpy 2.4.6 publish no 3.10 wheels),
# while stock TPU VM images (Ubuntu 22.04) ship 3.10. --system-packages installs
# python3.11 with apt (Ubuntu's package, or the deadsnakes PPA where apt has none)
# and bubblewrap, the code verifier's sandbox.
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
Usage: launch/${PROG} --extras=EXTRAS [--venv=DIR] [--python=PYTHON] [--system-packages]
       [--force] [--dry-run]

Creates a venv (skipped if present) and runs pip install -e ".[EXTRAS]" in the repo
root (${ROOT}). Skips everything when the marker DIR/.restem_setup_hash matches.

  --extras=EXTRAS   package extras: tpu (jax[tpu]) or gpu (jax[cuda12]); required
  --venv=DIR        venv directory, relative to the repo root (default .venv)
  --python=PYTHON   interpreter that creates the venv (default python3); >= 3.11
  --system-packages with apt (sudo): install bubblewrap, and python3.11 when PYTHON
                    is older than 3.11 (then the venv uses python3.11)
  --force           reinstall even when the marker matches
  --dry-run         print the commands ("+ ..." lines) instead of running them
  -h, --help        show this help
EOF
}

EXTRAS=""
VENV=".venv"
PYTHON="python3"
FORCE=0
SYSTEM=0

parse_args() {
  local arg
  for arg in "$@"; do
    case "${arg}" in
      --extras=*) EXTRAS=${arg#*=} ;;
      --venv=*) VENV=${arg#*=} ;;
      --python=*) PYTHON=${arg#*=} ;;
      --force) FORCE=1 ;;
      --system-packages) SYSTEM=1 ;;
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
  if ! python_version=$("${PYTHON}" --version 2>&1); then
    ((DRY_RUN)) || die "cannot run --python=${PYTHON}"
    python_version="${PYTHON} (installed by a real run)"
  fi
  for f in pyproject.toml setup.py setup.cfg; do
    [[ -f "${ROOT}/${f}" ]] && inputs+=("${ROOT}/${f}")
  done
  ((${#inputs[@]})) || die "no pyproject.toml in ${ROOT}: is this the restem_jax checkout?"
  { printf 'extras=%s\n%s\n' "${EXTRAS}" "${python_version}"; cat "${inputs[@]}"; } |
    sha256sum | cut -d' ' -f1
}

# "3.11" from "Python 3.11.9"; empty when PYTHON does not run.
python_version() {
  local v
  v=$("$1" --version 2>&1) || return 0
  v=${v#Python }
  echo "${v%.*}"
}

version_ok() {
  local major minor
  IFS=. read -r major minor <<<"$1"
  [[ -n "${minor}" ]] && ((major > 3 || (major == 3 && minor >= 11)))
}

apt_install() {
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# bubblewrap always; python3.11 when PYTHON is older (Ubuntu's, else deadsnakes').
install_system_packages() {
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  run "${sudo[@]}" apt-get update -q
  apt_install bubblewrap
  version_ok "$(python_version "${PYTHON}")" && return 0
  if ! apt-cache show python3.11 >/dev/null 2>&1; then
    apt_install software-properties-common
    run "${sudo[@]}" add-apt-repository -y ppa:deadsnakes/ppa
    run "${sudo[@]}" apt-get update -q
  fi
  apt_install python3.11 python3.11-venv
  PYTHON=python3.11
}

main() {
  parse_args "$@"
  local hash marker venv_python
  ((SYSTEM)) && install_system_packages
  if ! ((DRY_RUN && SYSTEM)); then
    version_ok "$(python_version "${PYTHON}")" ||
      die "--python=${PYTHON} is Python $(python_version "${PYTHON}"); restem_jax needs >= 3.11 (rerun with --system-packages to install python3.11 with apt, or pass --python=python3.11)"
  fi
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
