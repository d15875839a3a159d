#!/usr/bin/env bash
# Model-checks the core algorithm with loom (tests/loom.rs): the production
# Table code over loom atomics, every interleaving of a few threads up to
# LOOM_MAX_PREEMPTIONS preemptions per execution (default here: 3).
# Usage: bash scripts/loom.sh [test-name-filter]
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
# A separate target directory: --cfg loom rebuilds every crate, and sharing
# target/ would throw away the normal build's artifacts each time.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"

start=$(date +%s)
RUSTFLAGS="--cfg loom" cargo test --release --test loom -- --nocapture --test-threads=2 "$@"
end=$(date +%s)
echo "loom: passed in $((end - start)) s (LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS)"
