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
