#!/usr/bin/env bash
# Installs the package the way its users do: `npm pack`, then `npm install`
# of the tarball in a new project (which builds the addon from source there),
# then require() and import from that project.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"

mkdir "$work/consumer"
cd "$work/consumer"
npm init -y >/dev/null
npm install --no-audit --no-fund "$work/$tarball"
node -e "
const { AtomicDict } = require('atomic-dict')
const d = new AtomicDict(10)
d.add(1n, 41n); d.add(1n, 1n)
if (d.load(1n) !== 42n) { console.error('wrong value', d.load(1n)); process.exit(1) }
console.log('require from the installed tarball: ok')
"
node --input-type=module -e "
import { AtomicSet } from 'atomic-dict'
const s = new AtomicSet(10)
if (s.add(3n) !== true || s.add(3n) !== false) process.exit(1)
console.log('import from the installed tarball: ok')
"
# atomic-dict/metrics with the consumer's own prom-client: the store's
# metrics in prom-client's registry, from two processes sharing a file.
npm install --no-audit --no-fund prom-client@15 >/dev/null
store="$work/consumer/metrics.store"
node -e "
const { MetricsStore } = require('atomic-dict/metrics')
const s = MetricsStore.open(process.argv[1], { series: 100 })
new s.Counter({ name: 'jobs_total', help: 'Jobs', labelNames: ['queue'] }).inc({ queue: 'mail' }, 2)
s.close()
" "$store"
node -e "
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
table="$work/consumer/counts.table"
node -e "
const { AtomicDict } = require('atomic-dict')
const d = AtomicDict.open(process.argv[1], { capacity: 100 })
d.add(7n, 5n); d.store(2n ** 64n - 1n, 3n); d.close()
" "$table"
npx atomic-dict inspect "$table" --json > "$work/inspect.json"
node -e "
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
npx atomic-dict inspect package.json 2> "$work/inspect.err" || status=$?
if [ "$status" -ne 1 ] || ! grep -q 'package.json is not an atomic-dict table' "$work/inspect.err"; then
  echo "npx atomic-dict inspect of a file that is not a table: exit $status, $(cat "$work/inspect.err")" >&2
  exit 1
fi
echo 'npx atomic-dict inspect of a file that is not a table: ok'
