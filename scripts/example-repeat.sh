#!/usr/bin/env bash
# Runs the README's example (examples/tickets.js) N times in a row and stops
# at the first failure: the check that a race which fails once in many runs
# (issue 11: a spurious ERR_ATOMIC_DICT_FULL) is gone.
# Usage: bash scripts/example-repeat.sh [N=200] [arguments for tickets.js...]
set -euo pipefail
cd "$(dirname "$0")/.."

n="${1:-200}"
shift || true
start=$(date +%s)
for ((i = 1; i <= n; i++)); do
  if ! out=$(node examples/tickets.js "$@" 2>&1); then
    echo "$out"
    echo "example-repeat: run $i of $n FAILED after $(($(date +%s) - start)) s"
    exit 1
  fi
done
echo "example-repeat: $n runs in a row passed in $(($(date +%s) - start)) s"
