// Loading the package: ESM named imports (path and bare specifier) and CJS require by name.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, symlinkSync, rmSync, realpathSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { AtomicDict, AtomicSet, AtomicValue, AtomicDictFullError, Counters, counters, stringKey } from '../index.js'
import pkg from '../index.js'

const root = fileURLToPath(new URL('..', import.meta.url))
let dir

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'atomic-dict-esm-'))
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(root, join(dir, 'node_modules', 'atomic-dict'), 'dir')
})

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function run(args) {
  return execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 10000 }).trim()
}

test('named imports from the package root (path import)', () => {
  assert.equal(typeof AtomicDict, 'function')
  assert.equal(typeof AtomicSet, 'function')
  assert.equal(typeof AtomicValue, 'function')
  assert.equal(typeof AtomicDictFullError, 'function')
  assert.equal(pkg.AtomicDict, AtomicDict)
  assert.equal(counters(['a']).add('a'), 0n)
  assert.equal(typeof Counters.open, 'function')
  assert.equal(stringKey(''), 0xe73e91e755a40b99n)
  const d = new AtomicDict(4)
  assert.equal(d.add(1, 2), 0n)
  assert.equal(d.add(1n, 3), 2n)
  assert.equal(d.get(1), 5n)
  const s = new AtomicSet(4)
  assert.equal(s.add(1), true)
  assert.equal(s.add(1), false)
})

test('the symlinked package resolves to this checkout', () => {
  assert.equal(realpathSync(join(dir, 'node_modules', 'atomic-dict')), realpathSync(root))
})

test("import { AtomicDict } from 'atomic-dict' by package name", () => {
  const code = [
    "import { AtomicDict, AtomicSet, AtomicDictFullError } from 'atomic-dict'",
    'const d = new AtomicDict(2, { valueBits: 32 })',
    'd.add(7, 40); d.add(7n, 2)',
    'const s = new AtomicSet(1); s.add(3)',
    'let full = "no"',
    'try { s.add(4) } catch (e) { full = e instanceof AtomicDictFullError ? e.code : "wrong" }',
    'console.log(JSON.stringify({ v: d.get(7), size: d.size, set: [...s].map(String), full }))',
  ].join('\n')
  const out = run(['--input-type=module', '-e', code])
  assert.deepEqual(JSON.parse(out), { v: 42, size: 1, set: ['3'], full: 'ERR_ATOMIC_DICT_FULL' })
})

test("import default from 'atomic-dict' is the CJS exports object", () => {
  const code = [
    "import pkg from 'atomic-dict'",
    "import { AtomicDict } from 'atomic-dict'",
    'console.log(pkg.AtomicDict === AtomicDict, Object.keys(pkg).sort().join(","))',
  ].join('\n')
  assert.equal(
    run(['--input-type=module', '-e', code]),
    'true AtomicDict,AtomicDictFullError,AtomicSet,AtomicValue,Counters,Latch,Semaphore,counters,fork,shareOptions,shareWithCluster,spawn,stringKey,waitPoolStats',
  )
})

test("require('atomic-dict') from CommonJS by package name", () => {
  const code = [
    "const { AtomicDict, AtomicSet } = require('atomic-dict')",
    'const d = new AtomicDict(4, { k64: 2, k32: 1 })',
    'd.store([1, 2, 3], 5); d.add([1n, 2n, 3n], 2)',
    'const s = new AtomicSet(4); s.add(9n)',
    'console.log(String(d.get([1, 2, 3])), d.size, s.has(9))',
  ].join('\n')
  assert.equal(run(['--input-type=commonjs', '-e', code]), '7 1 true')
})
