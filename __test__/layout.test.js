'use strict'
// The JS view of a table is built from the layout Rust validated when it
// attached, never from a second read of the shared header: a peer that
// rewrites the header between Rust's checks and the view's construction
// (or at any time after) must not hand JS a geometry nobody checked.

const test = require('node:test')
const assert = require('node:assert/strict')
const { AtomicDict } = require('..')
const binding = require('../lib/binding')
const { OFF } = require('../lib/format')
const { internals, viewOf, closeTable } = require('../lib/table-memory')

/** Rewrites every geometry word of the header through `view`, as a hostile peer would; returns a restore function. */
function scribble(view) {
  const u32 = [OFF.K64, OFF.K32, OFF.VALUE_BITS, OFF.ROW_BYTES, OFF.ROWS_PER_BLOCK, OFF.FLAGS].map((o) => o / 4)
  const u64 = [OFF.BLOCK_COUNT, OFF.CAPACITY].map((o) => o / 8)
  const saved32 = u32.map((i) => Atomics.load(view.u32, i))
  const saved64 = u64.map((i) => Atomics.load(view.u64, i))
  for (const i of u32) Atomics.store(view.u32, i, 1)
  for (const i of u64) Atomics.store(view.u64, i, 1n << 40n)
  return () => {
    u32.forEach((i, j) => Atomics.store(view.u32, i, saved32[j]))
    u64.forEach((i, j) => Atomics.store(view.u64, i, saved64[j]))
  }
}

for (const shape of [{}, { k64: 2, k32: 1, valueBits: 32 }]) {
  test(`a header rewritten after Rust attached does not reach the JS view (${JSON.stringify(shape)})`, () => {
    const d = new AtomicDict(1000, shape)
    const key = (i) => (shape.k64 === 2 ? [BigInt(i), 7n, i] : BigInt(i))
    const one = shape.valueBits === 32 ? 1 : 1n
    for (let i = 1; i <= 100; i++) d.add(key(i), one)
    const mine = internals.get(d).view
    const expected = { rowBytes: mine.rowBytes, rowsPerBlock: mine.rowsPerBlock, blockCount: mine.blockCount, capacity: mine.capacity, k64: mine.k64, k32: mine.k32, valueBits: mine.valueBits }

    // Rust attaches (and validates); then the header is rewritten; then the
    // view is made, exactly as lib/table-memory.js makes it.
    const fd = internals.get(d).native.fd()
    const native = binding.attachFd(fd)
    const restore = scribble(mine)
    let table
    try {
      const view = viewOf(native)
      table = { native, view }
      for (const [k, v] of Object.entries(expected)) assert.equal(view[k], v, `${k} comes from the validated layout`)
      assert.deepEqual(native.layout().blockCount, expected.blockCount)
      // The view works: keys are found through the core, values read right.
      const other = new AtomicDict(require('../lib/table-memory').FROM_NATIVE, table)
      for (let i = 1; i <= 100; i++) assert.equal(other.get(key(i)), one)
      assert.equal([...other.keys()].length, 100)
      other.add(key(1), one)
      assert.equal(d.get(key(1)), shape.valueBits === 32 ? 2 : 2n)
    } finally {
      restore()
      if (table) closeTable(table)
    }
    // A new attach validates the header again, and refuses a bad one.
    const restore2 = scribble(mine)
    try {
      assert.throws(() => AtomicDict.attach(d.share()), { code: 'ERR_ATOMIC_DICT_NOT_A_TABLE' })
    } finally {
      restore2()
    }
    assert.equal(AtomicDict.attach(d.share()).get(key(2)), one)
    d.close()
  })
}
