'use strict'
// verify(): the audit of a table's rows, in JS.

const test = require('node:test')
const assert = require('node:assert/strict')
const { AtomicDict, AtomicSet } = require('..')
const { internals } = require('../lib/table-memory')

test('a sound table verifies, for every shape', () => {
  for (const opts of [{}, { valueBits: 32 }, { k64: 2, k32: 1 }, { k64: 0, k32: 2, valueBits: 32 }]) {
    const d = new AtomicDict(300, opts)
    const parts = (opts.k64 ?? 1) + (opts.k32 ?? 0)
    for (let i = 1; i <= 300; i++) d.add(parts === 1 ? i : [1 + (i % 3), ...Array(parts - 1).fill(i)], 1n)
    const r = d.verify()
    assert.deepEqual(r, {
      ok: true,
      entries: 300,
      reserved: 300,
      completeRows: 300,
      partialRows: 0,
      duplicateKeys: 0,
      unreachableKeys: 0,
      strings: 0,
      badStrings: 0,
      problems: [],
    })
  }
  const s = new AtomicSet(10)
  s.add(1n)
  assert.equal(s.verify().ok, true)
})

test('a forged duplicate row and a forged count are reported', () => {
  const d = new AtomicDict(100)
  for (let i = 1; i <= 40; i++) d.store(i, 1n)
  const { view } = internals.get(d)
  // Write key 7 into the first empty row by hand, as a rogue process could.
  let forged = -1
  for (let row = 0; row < view.rows && forged < 0; row++) {
    if (Atomics.load(view.u64, view.rowOffset(row) / 8) === 0n) forged = row
  }
  Atomics.store(view.u64, view.rowOffset(forged) / 8, 7n)
  const r = d.verify()
  assert.equal(r.ok, false)
  assert.equal(r.completeRows, 41)
  assert.equal(r.duplicateKeys, 1)
  assert.ok(r.problems.some((p) => /key \[7\] is in rows/.test(p)), r.problems.join('\n'))
  assert.ok(r.problems.some((p) => /entry count is 40 but 41 rows/.test(p)), r.problems.join('\n'))
})

test('verify on a closed table throws ERR_ATOMIC_DICT_CLOSED', () => {
  const d = new AtomicDict(10)
  d.close()
  assert.throws(() => d.verify(), { code: 'ERR_ATOMIC_DICT_CLOSED' })
})

test('repairCounts() mends a count left short by a crash, after the fact', () => {
  const d = new AtomicDict(100, { k64: 2, k32: 1 })
  for (let i = 1; i <= 20; i++) d.add([1, i, 3], 1n)
  const { view } = internals.get(d)
  Atomics.sub(view.u64, 64 / 8, 1n) // as if an inserter died before counting its key
  assert.equal(d.size, 19)
  assert.equal(d.verify().ok, false)
  const before = d.repairCounts()
  assert.equal(before.entries, 19)
  assert.equal(before.completeRows, 20)
  assert.equal(d.size, 20)
  assert.deepEqual(d.verify().problems, [])
})
