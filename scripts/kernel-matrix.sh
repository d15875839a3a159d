#!/usr/bin/env bash
# wait, waitAsync, notify, Latch and Semaphore must behave the same on every
# Linux from 4.18 on, whatever a seccomp profile lets through. This runs
# their tests three times: as is; under a seccomp filter answering io_uring
# (setup, enter, register) and futex_waitv with ENOSYS, as a kernel before
# 5.1 or a profile that does not know them does; and with EPERM, as older
# container profiles do (scripts/seccomp/seccomp-exec.c). Each test file
# runs on its own; its output is in target/kernel-matrix/; the failed tests
# of each run are listed as they come and counted at the end. Exits 1 if
# any file failed.
#
# SEMAPHORE_STRESS_MS sets the semaphore stress test's length (default here
# 5000, three runs being long enough). A file whose process does not end
# (a failed test's child left blocked keeps it alive) is killed, with every
# process it started, after KERNEL_MATRIX_FILE_S seconds (default 600):
# the results it reported until then stay in its log.
set -uo pipefail
cd "$(dirname "$0")/.."

launcher="$(bash scripts/seccomp/build.sh)" || exit 1
denied=io_uring_setup,io_uring_enter,io_uring_register,futex_waitv
files=(__test__/block.test.js __test__/seccomp.test.js __test__/sync-primitives.test.js __test__/wait.test.js)
export SEMAPHORE_STRESS_MS="${SEMAPHORE_STRESS_MS:-5000}"
limit="${KERNEL_MATRIX_FILE_S:-600}"
logs=target/kernel-matrix
mkdir -p "$logs"

status=0
summary=()
run() {
  local name="$1"
  shift
  echo "== kernel matrix: $name"
  local file
  for file in "${files[@]}"; do
    local log
    log="$logs/$name.$(basename "$file" .js).log"
    local start=$SECONDS
    # timeout runs the command in a process group of its own and signals
    # the whole group.
    timeout --kill-after=10 "$limit" "$@" node --test "$file" >"$log" 2>&1
    local rc=$?
    local note=""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      note=", did not end within $limit s: killed"
    fi
    local pass fail
    pass=$(grep -cE '^ +ok ' "$log")
    fail=$(grep -cE '^ +not ok ' "$log")
    summary+=("$name $(basename "$file"): exit $rc, $pass passed, $fail failed, $((SECONDS - start)) s$note")
    echo "   $(basename "$file"): exit $rc$note ($log)"
    if [ "$rc" -ne 0 ]; then
      status=1
      grep -E '^ *not ok ' "$log" | sed "s/^/     /"
    fi
  done
}

# Under the filters waitAsync must fall back to the threads backend: the
# tests check that it did (ATOMIC_DICT_EXPECT_BACKEND).
run as-is
run enosys "$launcher" --errno ENOSYS --deny "$denied" -- env ATOMIC_DICT_EXPECT_BACKEND=threads
run eperm "$launcher" --errno EPERM --deny "$denied" -- env ATOMIC_DICT_EXPECT_BACKEND=threads

echo "== kernel matrix summary (tests counted at every level of nesting but the top)"
printf '%s\n' "${summary[@]}"
exit $status
