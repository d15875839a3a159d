#!/usr/bin/env node
'use strict'
// Builds the native addon from source with cargo and puts it at
// ./atomic-dict.node. Runs on `npm install`; `--debug` builds without
// optimisations (faster to compile, much slower to run).

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const debug = process.argv.includes('--debug')
const args = ['build', '--lib', '--features', 'node', '--message-format=json-render-diagnostics']
if (!debug) args.push('--release')

const run = spawnSync('cargo', args, {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
})
if (run.error) {
  const hint = run.error.code === 'ENOENT' ? " atomic-dict builds its native addon from source and needs Rust's cargo (https://rustup.rs)." : ''
  console.error(`atomic-dict: cannot run cargo: ${run.error.message}.${hint}`)
  process.exit(1)
}
if (run.status !== 0) {
  console.error(`atomic-dict: cargo build failed (exit ${run.status})`)
  process.exit(run.status || 1)
}

let library
for (const line of run.stdout.split('\n')) {
  if (!line.startsWith('{')) continue
  const msg = JSON.parse(line)
  if (msg.reason === 'compiler-artifact' && msg.target.kind.includes('cdylib')) {
    library = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
  }
}
if (!library) {
  console.error('atomic-dict: cargo did not report the addon library it built')
  process.exit(1)
}
const dest = path.join(root, 'atomic-dict.node')
// Copy to a temporary name and rename, so a process that has the old addon
// loaded keeps its (unlinked) file intact.
fs.copyFileSync(library, dest + '.tmp')
fs.renameSync(dest + '.tmp', dest)
console.error(`atomic-dict: built ${path.relative(root, dest)} (${debug ? 'debug' : 'release'})`)
