'use strict'
// The JS and Rust implementations of the format must agree exactly, or
// processes would not find each other's keys. Both check the same fixed
// vectors (tests/vectors.rs reads this file too), and here each finds what
// the other inserted, in the same row.

const test = require('node:test')
const assert = require('node:assert/strict')
const vectors = require('./vectors/format.json')
const { hashKey, probe } = require('../lib/hash')
const { createTable } = require('../lib/tables')

test('hashes and probe sequences match the format vectors', () => {
  assert.ok(vectors.hash.length >= 10)
  for (const c of vectors.hash) {
    const parts = c.parts.map(BigInt)
    const h = hashKey(parts)
    assert.equal(h.toString(16).padStart(16, '0'), c.hash, `hash of ${c.parts}`)
    for (const p of c.probes) {
      assert.deepEqual(probe(parts, p.blocks), { block: p.block, step: p.step }, `probe of ${c.parts} over ${p.blocks}`)
    }
  }
})

test('tables made by the addon have the layouts of the format vectors', () => {
  for (const l of vectors.layouts) {
    const isSet = l.valueBits === 0
    const { view } = createTable(isSet, l.capacity, { k64: l.k64, k32: l.k32, valueBits: l.valueBits, signed: false })
    assert.equal(view.rowBytes, l.rowBytes, JSON.stringify(l))
    assert.equal(view.rowsPerBlock, l.rowsPerBlock, JSON.stringify(l))
    assert.equal(view.blockCount, l.blockCount, JSON.stringify(l))
    assert.equal(view.capacity, l.capacity, JSON.stringify(l))
    if (!isSet) assert.equal(view.valueOffset, l.valueOffset, JSON.stringify(l))
  }
})

// A deterministic PRNG (xorshift32) so failures reproduce.
function rng(seed) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

const shapes = [
  { k64: 1, k32: 0, valueBits: 64 },
  { k64: 1, k32: 0, valueBits: 32 },
  { k64: 0, k32: 1, valueBits: 32 },
  { k64: 2, k32: 1, valueBits: 64 },
  { k64: 1, k32: 2, valueBits: 32 },
]

for (const shape of shapes) {
  test(`JS and Rust find each other's keys in the same rows (${JSON.stringify(shape)})`, () => {
    const capacity = 600
    const { native, view } = createTable(false, capacity, { ...shape, signed: false })
    const rand = rng(shape.k64 * 31 + shape.k32 * 7 + shape.valueBits)
    // Few values for leading parts (so keys share prefixes and collide),
    // enough in the last part for `capacity` distinct keys.
    const n = shape.k64 + shape.k32
    const part = (i) => BigInt(1 + Math.floor(rand() * (i === n - 1 ? 100_000 : 4)))
    const keys = new Map()
    while (keys.size < capacity) {
      const parts = []
      for (let i = 0; i < n; i++) parts.push(part(i))
      keys.set(parts.join(','), parts)
    }
    let i = 0
    for (const parts of keys.values()) {
      // Alternate which side inserts; the other must find the same row.
      if (i++ % 2 === 0) {
        const row = view.locate(parts, true)
        assert.equal(native.find(parts), row)
      } else {
        const row = Number(native.insert(parts))
        assert.equal(view.locate(parts, false), row)
      }
    }
    assert.equal(view.size(), capacity)
    // Value operations from both sides on the same rows add up.
    for (const parts of keys.values()) {
      const row = view.locate(parts, false)
      Atomics.add(view.values, view.valueIndex(row), shape.valueBits === 64 ? 3n : 3)
      native.fetch(row, 'add', 4n)
      assert.equal(native.load(row), 7n)
      assert.equal(BigInt(Atomics.load(view.values, view.valueIndex(row))), 7n)
    }
  })
}
