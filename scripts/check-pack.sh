#!/usr/bin/env bash
# Installs the packages the way their users do, from `npm pack`'s tarballs:
# the main package and the platform package npm/linux-x64-gnu (build it first:
# npm run build:prebuilt). In new projects, with cargo and rustc removed from
# PATH, it installs the main tarball only, as a user does, with the consumer's
# overrides pointing the main package's optional dependency
# @atomic-dict/linux-x64-gnu at the platform tarball (neither is on the
# registry yet), with (1) npm, (2) npm --ignore-scripts, (3) pnpm 10 (which
# blocks dependency install scripts: checked), and in each checks that the
# platform package resolves from the main package's directory and that its
# .node is the addon require('atomic-dict') loaded, then require, import,
# tsc --strict against the installed types, the README's first example, that
# deep imports fail with ERR_PACKAGE_PATH_NOT_EXPORTED, that no target/ is
# left and that the installed size is under 5 MB. Then the main tarball alone
# (npm --omit=optional, so a published platform package is never fetched):
# without cargo it fails with a clear message, with cargo on PATH it builds
# from source, loads that build and leaves no target/ and no
# atomic-dict-build-* in TMPDIR.
# Whether scripts/install.js ran, and the temporary directories it made, are
# recorded by a probe preloaded with NODE_OPTIONS=--require (probe.js below).
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
# pnpm 10: the one on PATH if it is 10.x, else npx -y pnpm@10 (no global install).
if command -v pnpm >/dev/null && [[ "$(pnpm --version 2>/dev/null)" == 10.* ]]; then
  pnpm10=(pnpm)
else
  pnpm10=(npx -y pnpm@10)
fi
pnpm_version=$("${pnpm10[@]}" --version)
[[ "$pnpm_version" == 10.* ]] || { echo "check-pack: ${pnpm10[*]} --version is $pnpm_version, not 10.x" >&2; exit 1; }
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
for tool in node npm npx pnpm; do
  if command -v "$tool" >/dev/null; then ln -s "$(command -v "$tool")" "$work/bin/$tool"; fi
done
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

# Preloaded into every node the installs start (NODE_OPTIONS): when that node
# runs atomic-dict's scripts/install.js, it appends to $PROBE_LOG the
# directories fs.mkdtempSync made and, at exit, the script's exit code.
cat > "$work/probe.js" <<'EOF'
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const script = process.argv[1] || ''
if (process.env.PROBE_LOG && script.endsWith(path.join('atomic-dict', 'scripts', 'install.js'))) {
  const log = (line) => fs.appendFileSync(process.env.PROBE_LOG, `${line}\n`)
  const mkdtempSync = fs.mkdtempSync
  fs.mkdtempSync = function (...args) {
    const dir = mkdtempSync.apply(this, args)
    log(`mkdtemp ${dir}`)
    return dir
  }
  process.on('exit', (code) => log(`install.js exit ${code} ${script}`))
}
EOF
probed() { # $1: log file; the rest: the command
  local log=$1
  shift
  : > "$log"
  PROBE_LOG=$log NODE_OPTIONS="--require $work/probe.js${NODE_OPTIONS:+ $NODE_OPTIONS}" "$@"
}

new_project() { # $1: directory; $2: "overrides" for npm's, "pnpm" for pnpm's, else none
  mkdir "$work/$1"
  cd "$work/$1"
  case ${2:-} in
    overrides) echo "{ \"name\": \"consumer\", \"version\": \"1.0.0\", \"private\": true,
  \"overrides\": { \"@atomic-dict/linux-x64-gnu\": \"file:$platform\" } }" > package.json ;;
    pnpm) echo "{ \"name\": \"consumer\", \"version\": \"1.0.0\", \"private\": true,
  \"pnpm\": { \"overrides\": { \"@atomic-dict/linux-x64-gnu\": \"file:$platform\" } } }" > package.json ;;
    *) echo '{ "name": "consumer", "version": "1.0.0", "private": true }' > package.json ;;
  esac
}

# In the consumer project: atomic-dict is its only dependency, the platform
# package resolves from atomic-dict's own directory through the optional
# dependency's link beside it (not something reachable only from the
# project, as a direct dependency would be), and the one .node file
# require('atomic-dict') loads is that package's file, all by realpath.
check_prebuilt_loaded() { # $1: label
  nocargo node -e "
const fs = require('node:fs'), path = require('node:path')
const label = process.argv[1], fail = (m) => { console.error('check-pack (' + label + '):', m); process.exit(1) }
const deps = Object.keys({ ...require('./package.json').dependencies, ...require('./package.json').optionalDependencies })
if (deps.join() !== 'atomic-dict') fail('the project depends on ' + deps.join(', ') + ', not atomic-dict alone')
const pkg = fs.realpathSync('node_modules/atomic-dict')
const main = require(path.join(pkg, 'package.json'))
let want
try { want = fs.realpathSync(require.resolve('@atomic-dict/linux-x64-gnu', { paths: [pkg] })) } catch (e) {
  fail('@atomic-dict/linux-x64-gnu does not resolve from ' + pkg + ': ' + e.message)
}
// The optional dependency's own link: next to atomic-dict in the node_modules
// that holds it (npm hoists it there; pnpm links it into atomic-dict's
// .pnpm/<name>@<version>/node_modules), or in atomic-dict/node_modules.
const link = [path.join(pkg, 'node_modules'), path.dirname(pkg)].map((d) => path.join(d, '@atomic-dict', 'linux-x64-gnu')).find((d) => fs.existsSync(d))
if (!link || fs.realpathSync(link) !== path.dirname(want)) fail('no link to @atomic-dict/linux-x64-gnu beside ' + pkg + ' leads to ' + want)
const plat = require(path.join(path.dirname(want), 'package.json'))
if (plat.name !== '@atomic-dict/linux-x64-gnu' || plat.version !== main.version) fail('resolved ' + plat.name + '@' + plat.version)
if (fs.existsSync(path.join(pkg, 'atomic-dict.node'))) fail('a build from source is in ' + pkg)
require('atomic-dict')
const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
if (loaded.length !== 1 || fs.realpathSync(loaded[0]) !== want) fail('loaded ' + JSON.stringify(loaded) + ', not ' + want)
console.log(label + ': the addon loaded is ' + path.relative(process.cwd(), want) + ', resolved from ' + path.relative(process.cwd(), pkg))
" "$1"
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
import { RedisDict, fromNodeRedis } from 'atomic-dict/redis'
const s = new AtomicSet(10)
if (typeof RedisDict !== 'function' || typeof fromNodeRedis !== 'function') process.exit(4)
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
new_project npm overrides
probed "$work/npm.probe" nocargo npm install --no-audit --no-fund --foreground-scripts "$tarball" 2>&1 | tee "$work/npm.log"
# The install script ran (npm's lifecycle line, and the probe saw it exit 0)
# and, with the prebuilt there, built nothing, made no temporary directory
# and said nothing.
if grep -q '^atomic-dict:' "$work/npm.log" || ! grep -q '^> node scripts/install.js$' "$work/npm.log" ||
  [ "$(grep -c '^install.js exit 0 ' "$work/npm.probe")" != 1 ] || grep -q '^mkdtemp ' "$work/npm.probe"; then
  echo "check-pack: with the prebuilt, the install script did not run once, fail, or was not silent; probe:" >&2
  cat "$work/npm.probe" >&2
  exit 1
fi
echo "npm: scripts/install.js ran, exit 0, silent, no temporary directory"
check_prebuilt_loaded "npm"
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
new_project npm-ignore-scripts overrides
probed "$work/npm-ignore-scripts.probe" nocargo npm install --no-audit --no-fund --ignore-scripts "$tarball"
if [ -s "$work/npm-ignore-scripts.probe" ]; then
  echo "check-pack: npm --ignore-scripts ran scripts/install.js: $(cat "$work/npm-ignore-scripts.probe")" >&2
  exit 1
fi
check_prebuilt_loaded "npm --ignore-scripts"
check_consumer "npm --ignore-scripts"

echo "== (3) pnpm $pnpm_version (${pnpm10[*]}) install, without cargo (pnpm 10 runs no dependency build scripts)"
new_project pnpm pnpm
probed "$work/pnpm.probe" nocargo "${pnpm10[@]}" add --store-dir "$work/pnpm-store" "$tarball" > "$work/pnpm.log" 2>&1 ||
  { cat "$work/pnpm.log" >&2; exit 1; }
# pnpm blocked atomic-dict's install script: it says so, and the probe saw no run.
nocargo "${pnpm10[@]}" ignored-builds > "$work/pnpm-ignored.log" 2>&1 || true
if ! grep -q '^ *atomic-dict@' "$work/pnpm-ignored.log" || [ -s "$work/pnpm.probe" ]; then
  echo "check-pack: pnpm did not block atomic-dict's install script; pnpm ignored-builds:" >&2
  cat "$work/pnpm-ignored.log" "$work/pnpm.probe" >&2
  exit 1
fi
echo "pnpm: atomic-dict's install script ignored ($(grep -m1 '^ *atomic-dict@' "$work/pnpm-ignored.log" | sed 's/^ *//')), not run"
# The isolated layout: the platform package is not reachable from the project itself.
if nocargo node -e "require.resolve('@atomic-dict/linux-x64-gnu')" 2>/dev/null; then
  echo "check-pack: under pnpm, @atomic-dict/linux-x64-gnu resolves from the project itself" >&2
  exit 1
fi
check_prebuilt_loaded "pnpm"
check_consumer "pnpm"

echo "== (4) the main tarball alone, without cargo: fails and says why"
# --omit=optional: the platform package is never fetched, also once published.
new_project no-prebuilt
mkdir "$work/tmp-no-prebuilt"
status=0
TMPDIR="$work/tmp-no-prebuilt" probed "$work/no-prebuilt.probe" nocargo npm install --no-audit --no-fund --omit=optional "$tarball" > "$work/no-prebuilt.log" 2>&1 || status=$?
if [ "$status" -eq 0 ] || ! grep -q "needs Rust's cargo" "$work/no-prebuilt.log" ||
  ! grep -q '^install.js exit 1 ' "$work/no-prebuilt.probe" || [ -e node_modules/@atomic-dict ] ||
  [ -n "$(find "$work/tmp-no-prebuilt" -maxdepth 1 -name 'atomic-dict-build-*')" ]; then
  echo "check-pack: installing the main tarball without cargo or a prebuilt: exit $status" >&2
  cat "$work/no-prebuilt.log" >&2
  exit 1
fi
echo "exit $status, and: $(grep -o "atomic-dict: there is no prebuilt.*\|atomic-dict: the prebuilt addon.*" "$work/no-prebuilt.log" | head -n 1 | cut -c1-160)..."

echo "== (5) the main tarball alone, with cargo: builds from source, leaves no target/"
new_project from-source
mkdir "$work/tmp-from-source"
TMPDIR="$work/tmp-from-source" probed "$work/from-source.probe" npm install --no-audit --no-fund --omit=optional "$tarball"
pkg=$(realpath node_modules/atomic-dict)
if [ -e "$pkg/target" ] || [ ! -f "$pkg/atomic-dict.node" ] || [ -e node_modules/@atomic-dict ]; then
  echo "check-pack: a build from source left: $(ls "$pkg"); node_modules: $(ls node_modules)" >&2
  exit 1
fi
# The build's CARGO_TARGET_DIR was made in TMPDIR (the probe saw it) and is gone.
if ! grep -q "^mkdtemp $work/tmp-from-source/atomic-dict-build-" "$work/from-source.probe" ||
  ! grep -q '^install.js exit 0 ' "$work/from-source.probe" ||
  [ -n "$(find "$work/tmp-from-source" -maxdepth 1 -name 'atomic-dict-build-*')" ]; then
  echo "check-pack: the build from source did not use and remove an atomic-dict-build-* in TMPDIR; probe, then TMPDIR:" >&2
  cat "$work/from-source.probe" >&2
  ls -la "$work/tmp-from-source" >&2
  exit 1
fi
node -e "
const fs = require('node:fs')
const { AtomicDict } = require('atomic-dict')
const d = new AtomicDict(10)
d.add(1n, 42n)
if (d.load(1n) !== 42n) process.exit(1)
const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
if (loaded.length !== 1 || loaded[0] !== fs.realpathSync(process.argv[1])) { console.error('loaded', loaded); process.exit(1) }
" "$pkg/atomic-dict.node"
echo "from source: built $(stat -c %s "$pkg/atomic-dict.node") bytes and loaded it, no target/, its atomic-dict-build-* removed from TMPDIR: ok; installed $(du -sb "$pkg" | cut -f1) bytes"
