'use strict'
// The package's entry points as a consumer reaches them by name (package.json
// "exports"): 'atomic-dict' and 'atomic-dict/metrics' from require() and
// from ESM import (without "exports", ESM could not import
// 'atomic-dict/metrics', which has no extension); waitPoolStats is a named
// export, and deep imports ('atomic-dict/lib/wait') are not exported.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const childProcess = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

let dir
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-exports-'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(path.join(__dirname, '..'), path.join(dir, 'node_modules', 'atomic-dict'), 'dir')
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

function node(args) {
  return childProcess.execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8' }).trim()
}

const CHECK = `[typeof a.AtomicDict, typeof m.MetricsStore, typeof w.waitPoolStats, a.AtomicDict === a2.AtomicDict].join(' ')`
const WANT = 'function function function true'

test('ESM imports the entry points by name', () => {
  const code =
    "import a from 'atomic-dict'; import * as a2 from 'atomic-dict'; import * as m from 'atomic-dict/metrics'; " +
    "import { waitPoolStats } from 'atomic-dict'; const w = { waitPoolStats }; import { MetricsStore } from 'atomic-dict/metrics'; " +
    `if (MetricsStore !== m.MetricsStore) process.exit(2); console.log(${CHECK})`
  assert.equal(node(['--input-type=module', '-e', code]), WANT)
})

test('require() reaches the same entry points by name', () => {
  const code =
    "const a = require('atomic-dict'), a2 = require('atomic-dict/'.slice(0, -1)), m = require('atomic-dict/metrics'), " +
    "w = require('atomic-dict'); if (require('atomic-dict/package.json').name !== 'atomic-dict') process.exit(2); " +
    `console.log(${CHECK})`
  assert.equal(node(['-e', code]), WANT)
})

test('deep imports are not exported: ERR_PACKAGE_PATH_NOT_EXPORTED', () => {
  for (const spec of ['atomic-dict/lib/wait', 'atomic-dict/lib/wait.js', 'atomic-dict/metrics.js', 'atomic-dict/index.js']) {
    const code = `try { require(${JSON.stringify(spec)}); console.log('loaded') } catch (e) { console.log(e.code) }`
    assert.equal(node(['-e', code]), 'ERR_PACKAGE_PATH_NOT_EXPORTED', spec)
  }
})
