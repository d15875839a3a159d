'use strict'
// Who may open a named table: only files this user owns and nobody else can
// write, unless the caller says allowInsecure.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { AtomicDict } = require('..')

function fresh() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-dict-access-'))
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, 'table')
}

test('a table file writable by group or others is refused unless allowInsecure', () => {
  const file = fresh()
  const d = AtomicDict.open(file, { capacity: 10 })
  d.add(1n, 5n)
  d.close()
  for (const mode of [0o620, 0o602, 0o666]) {
    fs.chmodSync(file, mode)
    assert.throws(() => AtomicDict.open(file), (e) => e.code === 'ERR_ATOMIC_DICT_INSECURE' && /writable by group or others/.test(e.message))
    const again = AtomicDict.open(file, { allowInsecure: true })
    assert.equal(again.get(1n), 5n)
    again.close()
  }
  fs.chmodSync(file, 0o640) // readable by the group is fine
  AtomicDict.open(file).close()
})

test('creating a table writable by others needs allowInsecure, and changes nothing otherwise', () => {
  const file = fresh()
  assert.throws(() => AtomicDict.open(file, { capacity: 10, mode: 0o666 }), { code: 'ERR_ATOMIC_DICT_INSECURE' })
  assert.equal(fs.existsSync(file), false)
  AtomicDict.open(file, { capacity: 10, mode: 0o660, allowInsecure: true }).close()
  assert.equal(fs.statSync(file).mode & 0o777, 0o660)
  assert.throws(() => AtomicDict.open(file, { allowInsecure: 'yes' }), { name: 'TypeError', message: /allowInsecure/ })
})

test('a table file owned by another user is refused unless allowInsecure', { skip: process.getuid() !== 0 && 'needs root to chown' }, () => {
  const file = fresh()
  AtomicDict.open(file, { capacity: 10 }).close()
  fs.chownSync(file, 65534, 65534)
  assert.throws(() => AtomicDict.open(file), (e) => e.code === 'ERR_ATOMIC_DICT_INSECURE' && /owned by uid 65534/.test(e.message))
  AtomicDict.open(file, { allowInsecure: true }).close()
})
