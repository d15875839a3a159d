'use strict'
// The format is implemented once, by the Rust core; these tests check what
// JS reaches of it against the fixed vectors (tests/vectors.rs checks the
// core itself against the same file): keys given through the JS API, in
// every form, land in the rows the vectors say, and JS and the addon's
// napi methods find each other's keys in the same rows.

const test = require('node:test')
const assert = require('node:assert/strict')
const vectors = require('./vectors/format.json')
const binding = require('../lib/binding')
const { createTable, closeTable } = require('../lib/table-memory')
const { AtomicDict } = require('..')
const { internals } = require('../lib/table-memory')

test('hashes and probe sequences match the format vectors', () => {
  assert.ok(vectors.hash.length >= 10)
  for (const c of vectors.hash) {
    const parts = c.parts.map(BigInt)
    for (const p of c.probes) {
      const got = binding.probeOf(parts, p.blocks)
      assert.deepEqual(got, { hash: c.hash, block: p.block, step: p.step }, `probe of ${c.parts} over ${p.blocks}`)
    }
  }
})

/** The smallest capacity whose k64-part table has `blocks` blocks, or null. */
function capacityFor(k64, blocks) {
  for (let capacity = 1; capacity < 64; capacity++) {
    const table = createTable(false, capacity, { k64, k32: 0, valueBits: 64, signed: false })
    const n = table.view.blockCount
    closeTable(table)
    if (n === blocks) return capacity
    if (n > blocks) return null
  }
  return null
}

test('keys given through the JS API land in the home block the vectors say', () => {
  let checked = 0
  for (const c of vectors.hash) {
    const parts = c.parts.map(BigInt)
    for (const p of c.probes.filter((q) => q.blocks <= 11)) {
      const capacity = capacityFor(parts.length, p.blocks)
      if (capacity === null) continue
      // Each form of the key: bare bigint or number (one part), or an array.
      const forms = [parts]
      if (parts.length === 1) {
        forms.push(parts[0])
        if (parts[0] <= BigInt(Number.MAX_SAFE_INTEGER)) forms.push(Number(parts[0]))
      }
      for (const key of forms) {
        const d = new AtomicDict(capacity, { k64: parts.length })
        const { view } = internals.get(d)
        d.add(key, 5n)
        // An empty table: the key takes the first row of its home block.
        const row = p.block * view.rowsPerBlock
        const base = view.rowOffset(row) / 8
        for (let i = 0; i < parts.length; i++) assert.equal(Atomics.load(view.u64, base + i), parts[i], `part ${i} of ${c.parts} (${typeof key}) over ${p.blocks} blocks`)
        assert.equal(Atomics.load(view.values, view.valueIndex(row)), 5n)
        assert.deepEqual(d.getMany([key]), [5n])
        d.close()
        checked++
      }
    }
  }
  assert.ok(checked >= 20, `checked ${checked} placements`)
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
  test(`the JS API and the napi methods find each other's keys in the same rows (${JSON.stringify(shape)})`, () => {
    const capacity = 600
    const d = new AtomicDict(capacity, shape)
    const { native, view, keys: cache } = internals.get(d)
    // The value index the JS layer uses for a key (cached or found by the core).
    const jsIndex = (key) => cache.slot(key, false)
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
      // The JS side gets the key as an application would: 32-bit parts as numbers.
      const key = parts.map((p, j) => (j < shape.k64 ? p : Number(p)))
      if (i++ % 2 === 0) {
        assert.equal(d.add(key, 0n), shape.valueBits === 64 ? 0n : 0)
        assert.equal(jsIndex(key), view.valueIndex(Number(native.find(parts))))
      } else {
        const row = Number(native.insert(parts))
        assert.equal(d.has(key), true)
        assert.equal(jsIndex(key), view.valueIndex(row))
      }
    }
    assert.equal(d.size, capacity)
    // Value operations from both sides on the same rows add up: JS through
    // the API (single and bulk), Rust through the row the napi method finds.
    const all = [...keys.values()].map((parts) => parts.map((p, j) => (j < shape.k64 ? p : Number(p))))
    d.addMany(all, 1)
    for (const parts of keys.values()) {
      const row = Number(native.find(parts))
      const key = parts.map((p, j) => (j < shape.k64 ? p : Number(p)))
      d.add(key, 2)
      native.fetch(row, 'add', 4n)
      assert.equal(native.load(row), 7n)
      assert.equal(BigInt(d.get(key)), 7n)
      assert.equal(BigInt(Atomics.load(view.values, view.valueIndex(row))), 7n)
    }
  })
}
