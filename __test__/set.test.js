'use strict'
// AtomicSet: add/has/size/capacity/iteration, one-part and composite keys.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { AtomicSet, AtomicDictFullError } = require('..')

const M64 = 2n ** 64n

function canon(key) {
  return Array.isArray(key) ? key.map(String).join(',') : String(key)
}

const { prng } = require('./fixtures/prng')

test('a new set', () => {
  const s = new AtomicSet(10)
  assert.equal(s.size, 0)
  assert.equal(s.capacity, 10)
  assert.deepEqual([...s], [])
  assert.equal(Object.prototype.toString.call(s), '[object AtomicSet]')
  assert.equal(new AtomicSet(3, {}).capacity, 3)
})

test('add is true only for the call that inserted the key', () => {
  const s = new AtomicSet(10)
  assert.equal(s.add(1), true)
  assert.equal(s.add(1), false)
  assert.equal(s.add(1n), false)
  assert.equal(s.add([1]), false)
  assert.equal(s.add([1n]), false)
  assert.equal(s.size, 1)
  assert.equal(s.add(2n), true)
  assert.equal(s.add(2), false)
  assert.equal(s.add([3n]), true)
  assert.equal(s.add(3), false)
  assert.equal(s.add(3n), false)
  assert.equal(s.add([3]), false)
  assert.equal(s.size, 3)
})

test('has never inserts', () => {
  const s = new AtomicSet(10)
  assert.equal(s.has(1), false)
  assert.equal(s.has(1n), false)
  assert.equal(s.has([1]), false)
  assert.equal(s.size, 0)
  s.add(1)
  assert.equal(s.has(1), true)
  assert.equal(s.has(1n), true)
  assert.equal(s.has([1n]), true)
  assert.equal(s.has(2), false)
  assert.equal(s.size, 1)
  // has() before add() does not make add() report false
  const t = new AtomicSet(4)
  assert.equal(t.has(7), false)
  assert.equal(t.add(7), true)
  assert.equal(t.has([5]), false)
  assert.equal(t.add([5]), true)
})

test('extreme one-part keys', () => {
  const s = new AtomicSet(10)
  assert.equal(s.add(M64 - 1n), true)
  assert.equal(s.add(Number.MAX_SAFE_INTEGER), true)
  assert.equal(s.add(BigInt(Number.MAX_SAFE_INTEGER)), false)
  assert.equal(s.add(2 ** 32), true)
  assert.equal(s.size, 3)
  assert.deepEqual(
    [...s].sort((a, b) => (a < b ? -1 : 1)),
    [2n ** 32n, BigInt(Number.MAX_SAFE_INTEGER), M64 - 1n],
  )
})

test('keys / values / entries / iterator / forEach', () => {
  const s = new AtomicSet(10)
  for (const k of [5, 6n, 7]) s.add(k)
  const keys = [...s.keys()]
  assert.deepEqual([...keys].sort(), [5n, 6n, 7n])
  for (const k of keys) assert.equal(typeof k, 'bigint')
  assert.deepEqual([...s.values()], keys)
  assert.deepEqual([...s], keys)
  assert.deepEqual(
    [...s.entries()],
    keys.map((k) => [k, k]),
  )
  const seen = []
  const self = {}
  s.forEach(function (value, key, set) {
    assert.equal(this, self)
    assert.equal(set, s)
    assert.equal(value, key)
    seen.push(key)
  }, self)
  assert.deepEqual(seen, keys)
  assert.throws(() => s.forEach('nope'), TypeError)
  assert.equal(s.size, 3)
})

test('iteration is live', () => {
  const s = new AtomicSet(10)
  const it = s.keys()
  s.add(1)
  s.add(2)
  assert.equal([...it].length, 2)
})

test('k64=0,k32=1: 32-bit one-part keys come back as numbers', () => {
  const s = new AtomicSet(10, { k64: 0, k32: 1 })
  assert.equal(s.add(1), true)
  assert.equal(s.add(1n), false)
  assert.equal(s.add(2 ** 32 - 1), true)
  assert.equal(s.has(2 ** 32 - 1), true)
  assert.equal(s.size, 2)
  assert.deepEqual([...s].sort((a, b) => a - b), [1, 2 ** 32 - 1])
})

test('k64=2,k32=1: composite keys', () => {
  const s = new AtomicSet(10, { k64: 2, k32: 1 })
  assert.equal(s.add([1, 2, 3]), true)
  assert.equal(s.add([1n, 2n, 3n]), false)
  assert.equal(s.add([1n, 2, 3n]), false)
  assert.equal(s.add([1, 2, 4]), true)
  assert.equal(s.add([2, 1, 3]), true)
  assert.equal(s.add([M64 - 1n, M64 - 1n, 2 ** 32 - 1]), true)
  assert.equal(s.size, 4)
  assert.equal(s.has([1, 2, 3]), true)
  assert.equal(s.has([3, 2, 1]), false)
  assert.equal(s.size, 4)
  const keys = [...s]
  for (const k of keys) {
    assert.equal(k.length, 3)
    assert.equal(typeof k[0], 'bigint')
    assert.equal(typeof k[1], 'bigint')
    assert.equal(typeof k[2], 'number')
  }
  assert.deepEqual(
    new Set(keys.map(canon)),
    new Set(['1,2,3', '1,2,4', '2,1,3', `${M64 - 1n},${M64 - 1n},${2 ** 32 - 1}`]),
  )
  assert.deepEqual(
    [...s.entries()].map(([a, b]) => canon(a) === canon(b)),
    [true, true, true, true],
  )
})

test('k64=0,k32=2 and k64=1,k32=1: composite keys', () => {
  const s = new AtomicSet(10, { k64: 0, k32: 2 })
  assert.equal(s.add([1, 2]), true)
  assert.equal(s.add([1n, 2n]), false)
  assert.equal(s.add([2, 1]), true)
  assert.deepEqual(new Set([...s].map(canon)), new Set(['1,2', '2,1']))
  for (const k of s) assert.deepEqual(k.map((p) => typeof p), ['number', 'number'])
  const t = new AtomicSet(10, { k64: 1, k32: 1 })
  assert.equal(t.add([1, 2]), true)
  assert.equal(t.add([1n, 2]), false)
  assert.equal(t.has([2, 1]), false)
  assert.deepEqual([...t], [[1n, 2]])
})

test('a full set throws ERR_ATOMIC_DICT_FULL and keeps working', () => {
  for (const n of [1, 2, 3, 10, 1000]) {
    const s = new AtomicSet(n)
    for (let i = 1; i <= n; i++) assert.equal(s.add(i * 7919), true)
    assert.equal(s.size, n)
    assert.throws(
      () => s.add(1),
      (e) => e instanceof AtomicDictFullError && e.code === 'ERR_ATOMIC_DICT_FULL',
    )
    assert.throws(() => s.add([2n]), { code: 'ERR_ATOMIC_DICT_FULL' })
    assert.equal(s.size, n)
    assert.equal(s.has(1), false)
    // existing keys: add reports false, has is true
    assert.equal(s.add(7919), false)
    assert.equal(s.add(BigInt(7919 * n)), false)
    assert.equal(s.has(7919 * n), true)
    assert.equal([...s].length, n)
    assert.equal(s.size, n)
  }
})

test('random adds vs a model Set', () => {
  for (const geo of [{ k64: 1 }, { k64: 0, k32: 1 }, { k64: 2, k32: 1 }, { k64: 0, k32: 2 }]) {
    const rnd = prng(1234 + (geo.k32 || 0) * 3 + geo.k64)
    const parts = geo.k64 + (geo.k32 || 0)
    const space = parts === 1 ? 40 : 5 ** parts
    const s = new AtomicSet(space, geo)
    const model = new Set()
    for (let n = 0; n < 3000; n++) {
      let key
      if (parts === 1) key = 1 + Math.floor(rnd() * 40)
      else key = Array.from({ length: parts }, () => 1 + Math.floor(rnd() * 5))
      const k = canon(key)
      const form = rnd() < 0.5 ? key : Array.isArray(key) ? key.map(BigInt) : BigInt(key)
      if (rnd() < 0.3) assert.equal(s.has(form), model.has(k))
      else {
        assert.equal(s.add(form), !model.has(k), `add ${k}`)
        model.add(k)
      }
    }
    assert.equal(s.size, model.size)
    assert.deepEqual(new Set([...s].map(canon)), model)
  }
})
