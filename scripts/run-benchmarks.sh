#!/usr/bin/env bash
# The command behind `make bench`: runs the benchmark scripts under benchmarks/
# with the project's venv and prints their figures. With arguments, only the
# named ones run: `scripts/run-benchmarks.sh serve` (or bench_serve, or
# benchmarks/bench_serve.py). Every benchmark runs even if one fails; the exit
# status says whether all passed. Extra options for one benchmark go through
# BENCH_<NAME>_ARGS, e.g. BENCH_SERVE_ARGS="--rounds 1 --skip-mlflow".
# bench_train reads the collected data in STORAGE_URL (e.g. after `make demo`).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PYTHON=.venv/bin/python

if [ ! -x "$PYTHON" ]; then
  echo "error: $PYTHON not found; run 'make venv' first" >&2
  exit 1
fi

names=()
if [ "$#" -eq 0 ]; then
  for path in benchmarks/bench_*.py; do
    name=$(basename "$path" .py)
    names+=("${name#bench_}")
  done
else
  for arg in "$@"; do
    name=$(basename "$arg" .py)
    names+=("${name#bench_}")
  done
fi

failed=()
for name in "${names[@]}"; do
  script="benchmarks/bench_${name}.py"
  if [ ! -f "$script" ]; then
    echo "error: no benchmark named '$name' ($script does not exist)" >&2
    failed+=("$name")
    continue
  fi
  var="BENCH_$(echo "$name" | tr '[:lower:]' '[:upper:]')_ARGS"
  read -r -a extra <<< "${!var:-}"
  echo "=== $script ${extra[*]:-} ($(date -u +%H:%M:%S), load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a))"
  if ! "$PYTHON" "$script" "${extra[@]}"; then
    echo "error: $script failed" >&2
    failed+=("$name")
  fi
  echo
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "error: failed benchmarks: ${failed[*]}" >&2
  exit 1
fi
