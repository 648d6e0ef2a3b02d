#!/usr/bin/env bash
# The test command behind `make test`: provisions what the tests need on this
# machine (system packages, the Docker engine), runs pytest, and stops whatever
# it started by PID, pass or fail. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PATH="$PWD/$BIN:$PATH"

STARTED_PIDS=()
cleanup() {
  for pid in "${STARTED_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

# System components (Docker engine, chromium, wrk): installed and started only
# when missing; scripts/provision.sh records the PIDs of what it starts.
if [ -x scripts/provision.sh ]; then
  # shellcheck source=/dev/null
  source scripts/provision.sh
fi

mkdir -p test-artifacts
"$BIN/ruff" check .
"$BIN/pytest" "$@"
