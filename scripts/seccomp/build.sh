#!/usr/bin/env bash
# Builds scripts/seccomp/seccomp-exec.c into target/seccomp-exec (when the
# source is newer) and prints the path. Needs a C compiler: `cc`, which
# Rust's toolchain uses as its linker, so a machine that builds the addon
# has one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
src="$root/scripts/seccomp/seccomp-exec.c"
out="$root/target/seccomp-exec"
if ! command -v "${CC:-cc}" >/dev/null; then
  echo "scripts/seccomp/build.sh: no C compiler (${CC:-cc}) found; it is needed to build $out" >&2
  exit 1
fi
if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
  mkdir -p "$root/target"
  "${CC:-cc}" -O2 -Wall -Wextra -Werror -std=c11 -o "$out.tmp" "$src"
  mv "$out.tmp" "$out"
fi
echo "$out"
