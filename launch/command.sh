#!/usr/bin/env bash
# Run-or-print for the launch scripts (sourced, not executed).
#
# Every side effect in launch/ goes through `run` (an argv) or `run_sh` (a shell
# string, for pipes and redirections). With DRY_RUN=1 they print the command as
# one line, "+ " followed by the shell-quoted command, and run nothing, so a
# dry-run shows exactly what a real run would execute. Real runs echo the same
# line to stderr before executing it, like `set -x`.
#
# Errors: `usage_error` (bad or missing flags, exit 2) and `die` (exit 1).
set -euo pipefail

DRY_RUN=0

# Prints argv as one shell-quoted line (printf %q), without a trailing newline.
quote_cmd() {
  local quoted
  printf -v quoted '%q ' "$@"
  printf '%s' "${quoted% }"
}

# Runs argv, or prints it under --dry-run.
run() {
  if ((DRY_RUN)); then
    printf '+ %s\n' "$(quote_cmd "$@")"
  else
    printf '+ %s\n' "$(quote_cmd "$@")" >&2
    "$@"
  fi
}

# Runs a shell string with pipefail, or prints it under --dry-run. The caller
# quotes every user-provided part with quote_cmd.
run_sh() {
  if ((DRY_RUN)); then
    printf '+ %s\n' "$1"
  else
    printf '+ %s\n' "$1" >&2
    bash -o pipefail -c "$1"
  fi
}

# cd, also under --dry-run: later relative paths are read from there either way.
change_dir() {
  if ((DRY_RUN)); then
    printf '+ %s\n' "$(quote_cmd cd "$1")"
  else
    printf '+ %s\n' "$(quote_cmd cd "$1")" >&2
  fi
  cd "$1"
}

# Says what the script decided (skips, assumptions); "# " lines are not commands.
note() {
  if ((DRY_RUN)); then
    printf '# %s\n' "$*"
  else
    printf '# %s\n' "$*" >&2
  fi
}

usage_error() {
  printf '%s: error: %s\n' "${PROG}" "$*" >&2
  printf "Run '%s --help' for usage.\n" "${PROG}" >&2
  exit 2
}

die() {
  printf '%s: error: %s\n' "${PROG}" "$*" >&2
  exit 1
}

# require_flag NAME VALUE: usage error naming --NAME when VALUE is empty.
require_flag() {
  [[ -n "$2" ]] || usage_error "missing required flag --$1"
}
