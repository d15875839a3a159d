#!/usr/bin/env bash
# Randomised model test of the core table (tests/fuzz_model.rs) with a
# million operations (override with ATOMIC_DICT_FUZZ_OPS; the seed with
# ATOMIC_DICT_FUZZ_SEED), in release mode. Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

export ATOMIC_DICT_FUZZ_OPS="${ATOMIC_DICT_FUZZ_OPS:-1000000}"
start=$(date +%s)
cargo test --release --test fuzz_model -- --nocapture
end=$(date +%s)
echo "fuzz: passed in $((end - start)) s (ATOMIC_DICT_FUZZ_OPS=$ATOMIC_DICT_FUZZ_OPS)"
