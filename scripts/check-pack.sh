#!/usr/bin/env bash
# Installs the packages the way their users do, from `npm pack`'s tarballs:
# the main package and the platform package npm/linux-x64-gnu (build it first:
# npm run build:prebuilt). In new projects, with cargo and rustc removed from
# PATH, it installs them with (1) npm, (2) npm --ignore-scripts, (3) pnpm 10
# (which blocks dependency install scripts), and in each checks require,
# import, tsc --strict against the installed types, the README's first
# example, that deep imports fail with ERR_PACKAGE_PATH_NOT_EXPORTED, that no
# target/ is left and that the installed size is under 5 MB. Then: the main
# tarball alone without cargo fails with a clear message, and with cargo on
# PATH builds from source and leaves no target/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
max_bytes=$((5 * 1024 * 1024))

prebuilt="$root/npm/linux-x64-gnu/atomic-dict.linux-x64-gnu.node"
if [ ! -f "$prebuilt" ]; then
  echo "check-pack: $prebuilt is missing: run npm run build:prebuilt first" >&2
  exit 1
fi
node "$root/scripts/check-glibc.js" "$prebuilt" --max 2.28
command -v pnpm >/dev/null || { echo "check-pack: pnpm is not installed (npm i -g pnpm@10)" >&2; exit 1; }
# One version: the main package's, the platform package's and the optional dependency's.
node -e "
const main = require('$root/package.json'), plat = require('$root/npm/linux-x64-gnu/package.json')
const dep = main.optionalDependencies[plat.name]
if (plat.version !== main.version || dep !== main.version) {
  console.error('check-pack: versions differ: atomic-dict', main.version, plat.name, plat.version, 'optionalDependencies', dep)
  process.exit(1)
}
"

cd "$root"
tarball="$work/$(npm pack --silent --ignore-scripts --pack-destination "$work" | tail -n 1)"
platform="$work/$(cd npm/linux-x64-gnu && npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "packed $(basename "$tarball") ($(stat -c %s "$tarball") bytes), $(basename "$platform") ($(stat -c %s "$platform") bytes)"
if tar -tzf "$tarball" | grep -E '^package/(target|node_modules|examples|__test__|benchmark|npm)/|\.node$'; then
  echo "check-pack: the main tarball holds the files above, which it should not" >&2
  exit 1
fi

# A PATH with node, npm, npx and pnpm but no cargo or rustc.
mkdir "$work/bin"
for tool in node npm npx pnpm; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
nocargo_path="$work/bin"
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] && [ ! -e "$d/cargo" ] && [ ! -e "$d/rustc" ] && nocargo_path="$nocargo_path:$d"
done
if PATH="$nocargo_path" bash -c 'command -v cargo || command -v rustc'; then
  echo "check-pack: cargo is still on the PATH meant to have none" >&2
  exit 1
fi
nocargo() { PATH="$nocargo_path" "$@"; }

# The README's first ```js block, run as it is in a consumer project.
awk '/^```js$/ { on = 1; next } on && /^```$/ { exit } on' "$root/README.md" > "$work/readme-example.js"
[ -s "$work/readme-example.js" ] || { echo "check-pack: README.md has no \`\`\`js block" >&2; exit 1; }

new_project() {
  mkdir "$work/$1"
  cd "$work/$1"
  echo '{ "name": "consumer", "version": "1.0.0", "private": true }' > package.json
}

check_consumer() { # $1: label; in the consumer project
  local label=$1 pkg plat size
  nocargo node -e "
const { AtomicDict } = require('atomic-dict')
const d = new AtomicDict(10)
d.add(1n, 41n); d.add(1n, 1n)
if (d.load(1n) !== 42n) { console.error('wrong value', d.load(1n)); process.exit(1) }
"
  nocargo node --input-type=module -e "
import { AtomicDict, AtomicSet, shareOptions, waitPoolStats } from 'atomic-dict'
import { MetricsStore } from 'atomic-dict/metrics'
const s = new AtomicSet(10)
if (s.add(3n) !== true || s.add(3n) !== false) process.exit(1)
if (typeof AtomicDict !== 'function' || typeof shareOptions !== 'function' || typeof MetricsStore !== 'function') process.exit(2)
if (typeof waitPoolStats().pending !== 'number') process.exit(3)
"
  cp "$work/readme-example.js" readme-example.js
  nocargo node readme-example.js
  nocargo node -e "
for (const spec of ['atomic-dict/lib/wait', 'atomic-dict/lib/binding.js', 'atomic-dict/metrics.js']) {
  try { require(spec); console.error('deep require worked:', spec); process.exit(1) } catch (e) {
    if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') { console.error(spec, e); process.exit(1) }
  }
}
import('atomic-dict/lib/wait').then(() => { console.error('deep import worked'); process.exit(1) },
  (e) => { if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') { console.error(e); process.exit(1) } })
"
  nocargo node "$root/scripts/type-check.js" --consumer "$PWD" | sed 's/^/  /'
  pkg=$(realpath node_modules/atomic-dict)
  plat=$(dirname "$(nocargo node -e "console.log(require.resolve('@atomic-dict/linux-x64-gnu/package.json', { paths: [process.argv[1]] }))" "$pkg")")
  if [ -e "$pkg/target" ] || [ -e "$pkg/atomic-dict.node" ]; then
    echo "check-pack ($label): node_modules/atomic-dict has a target/ or a build from source: $(ls "$pkg")" >&2
    exit 1
  fi
  size=$(($(du -sb "$pkg" | cut -f1) + $(du -sb "$plat" | cut -f1)))
  if [ "$size" -ge "$max_bytes" ]; then
    echo "check-pack ($label): installed size $size bytes, not under 5 MB" >&2
    exit 1
  fi
  echo "$label: require, import, the README's first example, tsc --strict, no deep imports, no target/: ok;" \
    "installed $(du -sb "$pkg" | cut -f1) + $(du -sb "$plat" | cut -f1) = $size bytes"
}

echo "== (1) npm install, without cargo"
new_project npm
nocargo npm install --no-audit --no-fund --foreground-scripts "$tarball" "$platform" 2>&1 | tee "$work/npm.log"
# The install script ran and, with the prebuilt there, built nothing and said nothing.
if grep -q '^atomic-dict:' "$work/npm.log" || ! grep -q 'node scripts/install.js' "$work/npm.log"; then
  echo "check-pack: with the prebuilt, the install script did not run, or was not silent" >&2
  exit 1
fi
check_consumer "npm"

# atomic-dict/metrics with the consumer's own prom-client: the store's
# metrics in prom-client's registry, from two processes sharing a file.
nocargo npm install --no-audit --no-fund prom-client@15 >/dev/null
store="$work/npm/metrics.store"
nocargo node -e "
const { MetricsStore } = require('atomic-dict/metrics')
const s = MetricsStore.open(process.argv[1], { series: 100 })
new s.Counter({ name: 'jobs_total', help: 'Jobs', labelNames: ['queue'] }).inc({ queue: 'mail' }, 2)
s.close()
" "$store"
nocargo node -e "
const client = require('prom-client')
const { MetricsStore } = require('atomic-dict/metrics')
const s = MetricsStore.open(process.argv[1])
const c = new s.Counter({ name: 'jobs_total', help: 'Jobs', labelNames: ['queue'], registers: [client.register] })
c.inc({ queue: 'mail' })
client.register.metrics().then((text) => {
  if (!text.includes('jobs_total{queue=\"mail\"} 3')) { console.error('wrong metrics text:', text); process.exit(1) }
  console.log('atomic-dict/metrics from the installed tarball, two processes: ok')
})
" "$store"
# The bin: inspect a named table made from the consumer project.
table="$work/npm/counts.table"
nocargo node -e "
const { AtomicDict } = require('atomic-dict')
const d = AtomicDict.open(process.argv[1], { capacity: 100 })
d.add(7n, 5n); d.store(2n ** 64n - 1n, 3n); d.close()
" "$table"
nocargo npx atomic-dict inspect "$table" --json > "$work/inspect.json"
nocargo node -e "
const r = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'))
const got = JSON.stringify(r.entries.map((e) => [e.key, e.value]).sort())
const want = JSON.stringify([['18446744073709551615', '3'], ['7', '5']])
if (r.size !== 2 || r.geometry.capacity !== 100 || r.verify.ok !== true || got !== want) {
  console.error('wrong inspect output:', JSON.stringify(r))
  process.exit(1)
}
console.log('npx atomic-dict inspect --json from the installed tarball: ok')
" "$work/inspect.json"
status=0
nocargo npx atomic-dict inspect package.json 2> "$work/inspect.err" || status=$?
if [ "$status" -ne 1 ] || ! grep -q 'package.json is not an atomic-dict table' "$work/inspect.err"; then
  echo "npx atomic-dict inspect of a file that is not a table: exit $status, $(cat "$work/inspect.err")" >&2
  exit 1
fi
echo 'npx atomic-dict inspect of a file that is not a table: ok'

echo "== (2) npm install --ignore-scripts, without cargo"
new_project npm-ignore-scripts
nocargo npm install --no-audit --no-fund --ignore-scripts "$tarball" "$platform"
check_consumer "npm --ignore-scripts"

echo "== (3) pnpm $(pnpm --version) install, without cargo (pnpm 10 runs no dependency build scripts)"
new_project pnpm
nocargo pnpm add --store-dir "$work/pnpm-store" "$platform" "$tarball" 2>&1 | tail -n 5
check_consumer "pnpm"

echo "== (4) the main tarball alone, without cargo: fails and says why"
new_project no-prebuilt
status=0
nocargo npm install --no-audit --no-fund "$tarball" > "$work/no-prebuilt.log" 2>&1 || status=$?
if [ "$status" -eq 0 ] || ! grep -q "needs Rust's cargo" "$work/no-prebuilt.log"; then
  echo "check-pack: installing the main tarball without cargo or a prebuilt: exit $status" >&2
  cat "$work/no-prebuilt.log" >&2
  exit 1
fi
echo "exit $status, and: $(grep -o "atomic-dict: there is no prebuilt.*\|atomic-dict: the prebuilt addon.*" "$work/no-prebuilt.log" | head -n 1 | cut -c1-160)..."

echo "== (5) the main tarball alone, with cargo: builds from source, leaves no target/"
new_project from-source
npm install --no-audit --no-fund "$tarball"
pkg=$(realpath node_modules/atomic-dict)
if [ -e "$pkg/target" ] || [ ! -f "$pkg/atomic-dict.node" ]; then
  echo "check-pack: a build from source left: $(ls "$pkg")" >&2
  exit 1
fi
node -e "
const { AtomicDict } = require('atomic-dict')
const d = new AtomicDict(10)
d.add(1n, 42n)
if (d.load(1n) !== 42n) process.exit(1)
"
echo "from source: built $(stat -c %s "$pkg/atomic-dict.node") bytes, no target/, loads: ok; installed $(du -sb "$pkg" | cut -f1) bytes"
