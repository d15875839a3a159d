#!/usr/bin/env bash
# Builds a tool of scripts/seccomp into target/ (when its source is newer)
# and prints its path:
#   build.sh                 seccomp-exec.c -> target/seccomp-exec (the kernel matrix's launcher)
#   build.sh no-ofd-locks    no-ofd-locks.c -> target/no-ofd-locks.so (an LD_PRELOAD library)
# Needs a C compiler: `cc`, which Rust's toolchain uses as its linker, so a
# machine that builds the addon has one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
case "${1:-seccomp-exec}" in
  seccomp-exec) src="$root/scripts/seccomp/seccomp-exec.c"; out="$root/target/seccomp-exec"; flags=(-std=c11) ;;
  no-ofd-locks) src="$root/scripts/seccomp/no-ofd-locks.c"; out="$root/target/no-ofd-locks.so"; flags=(-shared -fPIC -ldl) ;;
  *) echo "scripts/seccomp/build.sh: unknown tool $1" >&2; exit 1 ;;
esac
if ! command -v "${CC:-cc}" >/dev/null; then
  echo "scripts/seccomp/build.sh: no C compiler (${CC:-cc}) found; it is needed to build $out" >&2
  exit 1
fi
if [ ! -e "$out" ] || [ "$src" -nt "$out" ]; then
  mkdir -p "$root/target"
  "${CC:-cc}" -O2 -Wall -Wextra -Werror -o "$out.tmp" "$src" "${flags[@]}"
  mv "$out.tmp" "$out"
fi
echo "$out"
