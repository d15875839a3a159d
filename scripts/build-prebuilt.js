#!/usr/bin/env node
'use strict'
// `npm run build:prebuilt`: builds the addon the platform package
// npm/linux-x64-gnu ships (@atomic-dict/linux-x64-gnu): a release build for
// x86_64-unknown-linux-gnu linked against glibc 2.28's symbols, so that it
// loads on glibc 2.28 and later (Node 20's own floor). The glibc version
// suffix on the target is cargo-zigbuild's: zig links against the stubs of
// that glibc version. Needs `cargo install --locked cargo-zigbuild` and zig
// (`pip install ziglang` is enough: cargo-zigbuild finds `python3 -m ziglang`).
// The build goes to ./target (in the checkout); the .node is copied to
// npm/linux-x64-gnu/ and its GLIBC_ floor checked (scripts/check-glibc.js).

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { glibcFloor, compare } = require('./check-glibc')

const root = path.join(__dirname, '..')
const TARGET = 'x86_64-unknown-linux-gnu'
const GLIBC = '2.28'
const dest = path.join(root, 'npm', 'linux-x64-gnu', 'atomic-dict.linux-x64-gnu.node')

const run = spawnSync(
  'cargo',
  ['zigbuild', '--lib', '--release', '--features', 'node', '--target', `${TARGET}.${GLIBC}`],
  { cwd: root, stdio: 'inherit' },
)
if (run.error || run.status !== 0) {
  console.error(
    `atomic-dict: cargo zigbuild failed (${run.error ? run.error.message : `exit ${run.status}`}). ` +
      'It needs cargo-zigbuild (cargo install --locked cargo-zigbuild) and zig (pip install ziglang).',
  )
  process.exit(1)
}
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target')
const library = path.join(targetDir, TARGET, 'release', 'libatomic_dict.so')
fs.copyFileSync(library, dest + '.tmp')
fs.renameSync(dest + '.tmp', dest)
const { highest, versions } = glibcFloor(dest)
if (versions.length === 0 || compare(highest, GLIBC) > 0) {
  console.error(`atomic-dict: ${dest} needs GLIBC_${highest}, above ${GLIBC}`)
  process.exit(1)
}
console.error(`atomic-dict: built ${path.relative(root, dest)} (${fs.statSync(dest).size} bytes, needs at most GLIBC_${highest})`)
