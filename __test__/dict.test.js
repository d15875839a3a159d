'use strict'
// AtomicDict: every method and alias, on 64/32-bit, unsigned/signed tables,
// with one-part and composite keys, and a seeded random run against a model.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const { AtomicDict, AtomicValue } = require('..')

const M64 = 2n ** 64n

const CONFIGS = [
  {
    name: '64-bit unsigned',
    opts: {},
    bits: 64,
    signed: false,
    zero: 0n,
    minusOne: M64 - 1n,
    max: M64 - 1n,
    afterMax: 0n,
    type: 'bigint',
  },
  {
    name: '64-bit signed',
    opts: { signed: true },
    bits: 64,
    signed: true,
    zero: 0n,
    minusOne: -1n,
    max: 2n ** 63n - 1n,
    afterMax: -(2n ** 63n),
    type: 'bigint',
  },
  {
    name: '32-bit unsigned',
    opts: { valueBits: 32 },
    bits: 32,
    signed: false,
    zero: 0,
    minusOne: 2 ** 32 - 1,
    max: 2 ** 32 - 1,
    afterMax: 0,
    type: 'number',
  },
  {
    name: '32-bit signed',
    opts: { valueBits: 32, signed: true },
    bits: 32,
    signed: true,
    zero: 0,
    minusOne: -1,
    max: 2 ** 31 - 1,
    afterMax: -(2 ** 31),
    type: 'number',
  },
]

/** What a table of this config hands back for the mathematical value x. */
function norm(cfg, x) {
  let v = BigInt.asUintN(cfg.bits, BigInt(x))
  if (cfg.signed) v = BigInt.asIntN(cfg.bits, v)
  return cfg.bits === 64 ? v : Number(v)
}

/** The value as this config takes it in: a bigint (64) or a number (32). */
function inp(cfg, x) {
  return cfg.bits === 64 ? BigInt(x) : Number(x)
}

const { prng } = require('./fixtures/prng')

function snapshot(d) {
  return [...d.entries()]
}

for (const cfg of CONFIGS) {
  describe(`AtomicDict ${cfg.name}`, () => {
    const make = (cap = 16) => new AtomicDict(cap, cfg.opts)

    test('capacity, size, toStringTag of a new table', () => {
      const d = make(10)
      assert.equal(d.capacity, 10)
      assert.equal(d.size, 0)
      assert.deepEqual(snapshot(d), [])
      assert.equal(Object.prototype.toString.call(d), '[object AtomicDict]')
    })

    test('load/get/has on an absent key never insert', () => {
      const d = make()
      assert.equal(d.load(1), cfg.zero)
      assert.equal(typeof d.load(1n), cfg.type)
      assert.equal(d.get(1), undefined)
      assert.equal(d.get(1n), undefined)
      assert.equal(d.has(1), false)
      assert.equal(d.has(1n), false)
      assert.equal(d.size, 0)
      assert.deepEqual(snapshot(d), [])
      d.store(2, 3)
      assert.equal(d.load(1), cfg.zero)
      assert.equal(d.get(1), undefined)
      assert.equal(d.has(1), false)
      assert.equal(d.size, 1)
      assert.deepEqual(snapshot(d), [[2n, inp(cfg, 3)]])
    })

    test('add: returns the previous value, inserts, wraps past max', () => {
      const d = make()
      assert.equal(d.add(1, 5), cfg.zero)
      assert.equal(d.size, 1)
      assert.equal(d.add(1n, inp(cfg, 7)), inp(cfg, 5))
      assert.equal(d.get(1), inp(cfg, 12))
      assert.equal(typeof d.get(1), cfg.type)
      assert.equal(d.size, 1)
      d.store(2, cfg.max)
      assert.equal(d.add(2, 1), cfg.max)
      assert.equal(d.get(2), cfg.afterMax)
      // adding -1 is subtracting 1
      assert.equal(d.add(3, -1), cfg.zero)
      assert.equal(d.get(3), cfg.minusOne)
      assert.equal(d.add(3, 2), cfg.minusOne)
      assert.equal(d.load(3), inp(cfg, 1))
      assert.equal(d.size, 3)
    })

    test('sub: below zero wraps (two\'s complement)', () => {
      const d = make()
      assert.equal(d.sub(1, 1), cfg.zero)
      assert.equal(d.get(1), cfg.minusOne)
      assert.equal(d.sub(1, inp(cfg, 1)), cfg.minusOne)
      assert.equal(d.get(1), norm(cfg, -2))
      d.store(2, 10)
      assert.equal(d.sub(2, 3), inp(cfg, 10))
      assert.equal(d.get(2), inp(cfg, 7))
      assert.equal(d.sub(2, -3), inp(cfg, 7))
      assert.equal(d.get(2), inp(cfg, 10))
      d.store(3, cfg.afterMax)
      assert.equal(d.sub(3, 1), cfg.afterMax)
      assert.equal(d.get(3), cfg.max)
      assert.equal(d.size, 3)
    })

    test('explicit wraparound constants', () => {
      const d = make()
      d.sub(1, 1)
      d.store(2, 0)
      d.sub(2, 2)
      if (cfg.bits === 64 && !cfg.signed) {
        assert.equal(d.get(1), 2n ** 64n - 1n)
        assert.equal(d.get(2), 2n ** 64n - 2n)
      } else if (cfg.bits === 64) {
        assert.equal(d.get(1), -1n)
        assert.equal(d.get(2), -2n)
      } else if (!cfg.signed) {
        assert.equal(d.get(1), 2 ** 32 - 1)
        assert.equal(d.get(2), 2 ** 32 - 2)
      } else {
        assert.equal(d.get(1), -1)
        assert.equal(d.get(2), -2)
      }
    })

    test('and / or / xor and their aliases band / bor / bxor', () => {
      const d = make()
      assert.equal(d.and(1, 0b1010), cfg.zero)
      assert.equal(d.get(1), cfg.zero)
      assert.equal(d.size, 1)
      d.store(1, 0b1100)
      assert.equal(d.and(1, 0b1010), inp(cfg, 0b1100))
      assert.equal(d.get(1), inp(cfg, 0b1000))
      assert.equal(d.or(1, 0b0001), inp(cfg, 0b1000))
      assert.equal(d.get(1), inp(cfg, 0b1001))
      assert.equal(d.xor(1, 0b1111), inp(cfg, 0b1001))
      assert.equal(d.get(1), inp(cfg, 0b0110))
      assert.equal(d.band(1, 0b0100), inp(cfg, 0b0110))
      assert.equal(d.get(1), inp(cfg, 0b0100))
      assert.equal(d.bor(1, 0b0011), inp(cfg, 0b0100))
      assert.equal(d.get(1), inp(cfg, 0b0111))
      assert.equal(d.bxor(1, 0b0101), inp(cfg, 0b0111))
      assert.equal(d.get(1), inp(cfg, 0b0010))
      // or/xor on an absent key insert it
      assert.equal(d.or(2, 6), cfg.zero)
      assert.equal(d.get(2), inp(cfg, 6))
      assert.equal(d.xor(3, 5), cfg.zero)
      assert.equal(d.get(3), inp(cfg, 5))
      assert.equal(d.size, 3)
      // the top bit: -1 has every bit set
      const top = cfg.bits === 64 ? -(2n ** 63n) : -(2 ** 31)
      d.store(4, -1)
      assert.equal(d.xor(4, top), cfg.minusOne)
      assert.equal(d.get(4), norm(cfg, -1n ^ BigInt(top)))
      assert.equal(d.get(4), norm(cfg, 2n ** BigInt(cfg.bits - 1) - 1n))
      assert.equal(d.and(4, top), norm(cfg, 2n ** BigInt(cfg.bits - 1) - 1n))
      assert.equal(d.get(4), cfg.zero)
      assert.equal(d.or(4, top), cfg.zero)
      assert.equal(d.get(4), norm(cfg, top))
      assert.equal(d.band, d.and)
      assert.equal(d.bor, d.or)
      assert.equal(d.bxor, d.xor)
    })

    test('swap / exchange', () => {
      const d = make()
      assert.equal(d.swap(1, 5), cfg.zero)
      assert.equal(d.size, 1)
      assert.equal(d.swap(1, -1), inp(cfg, 5))
      assert.equal(d.get(1), cfg.minusOne)
      assert.equal(d.exchange(1, 9), cfg.minusOne)
      assert.equal(d.get(1), inp(cfg, 9))
      assert.equal(d.exchange(2, 4), cfg.zero)
      assert.equal(d.get(2), inp(cfg, 4))
      assert.equal(d.exchange, d.swap)
    })

    test('cas / compareExchange: success, failure, absent key, two\'s complement', () => {
      const d = make()
      d.store(1, 10)
      assert.equal(d.cas(1, 10, 20), inp(cfg, 10)) // success
      assert.equal(d.get(1), inp(cfg, 20))
      assert.equal(d.cas(1, 10, 30), inp(cfg, 20)) // failure
      assert.equal(d.get(1), inp(cfg, 20))
      assert.equal(d.compareExchange(1, 20, 40), inp(cfg, 20))
      assert.equal(d.get(1), inp(cfg, 40))
      assert.equal(d.compareExchange(1, 41, 50), inp(cfg, 40))
      assert.equal(d.get(1), inp(cfg, 40))
      // absent: inserted with 0, then compared against 0
      assert.equal(d.cas(2, 0, 7), cfg.zero)
      assert.equal(d.get(2), inp(cfg, 7))
      assert.equal(d.cas(3, 1, 7), cfg.zero)
      assert.equal(d.has(3), true)
      assert.equal(d.get(3), cfg.zero)
      assert.equal(d.size, 3)
      // -1 and 2^bits-1 are the same bits
      d.store(4, -1)
      const allOnes = cfg.bits === 64 ? M64 - 1n : 2 ** 32 - 1
      assert.equal(d.cas(4, allOnes, 3), cfg.minusOne)
      assert.equal(d.get(4), inp(cfg, 3))
      d.store(4, allOnes)
      assert.equal(d.get(4), cfg.minusOne)
      assert.equal(d.cas(4, -1, 8), cfg.minusOne)
      assert.equal(d.get(4), inp(cfg, 8))
      assert.equal(d.compareExchange, d.cas)
    })

    test('store returns undefined; set returns the dict; values in as number or bigint', () => {
      const d = make()
      assert.equal(d.store(1, 5), undefined)
      assert.equal(d.get(1), inp(cfg, 5))
      assert.equal(d.store(1, 6n), undefined)
      assert.equal(d.get(1), inp(cfg, 6))
      assert.equal(d.set(2, 7), d)
      assert.equal(d.set(3, 8n).set(4, 9), d)
      assert.equal(d.get(3), inp(cfg, 8))
      assert.equal(d.get(4), inp(cfg, 9))
      assert.equal(d.size, 4)
      d.set(5, cfg.max)
      assert.equal(d.get(5), cfg.max)
      d.set(5, cfg.afterMax)
      assert.equal(d.get(5), cfg.afterMax)
      // the extremes of the accepted input range
      const lo = cfg.bits === 64 ? -(2n ** 63n) : -(2 ** 31)
      const hi = cfg.bits === 64 ? M64 - 1n : 2 ** 32 - 1
      d.set(6, lo)
      assert.equal(d.get(6), norm(cfg, lo))
      d.set(6, hi)
      assert.equal(d.get(6), norm(cfg, hi))
      d.set(7, BigInt(lo))
      assert.equal(d.get(7), norm(cfg, lo))
      if (cfg.bits === 64) {
        d.set(7, Number.MIN_SAFE_INTEGER)
        assert.equal(d.get(7), norm(cfg, Number.MIN_SAFE_INTEGER))
      }
      assert.equal(d.size, 7)
    })

    test('1 and 1n are the same key', () => {
      const d = make()
      d.add(1, 1)
      d.add(1n, 1)
      d.add([1], 1)
      d.add([1n], 1)
      assert.equal(d.size, 1)
      assert.equal(d.get(1), inp(cfg, 4))
      assert.equal(d.get(1n), inp(cfg, 4))
      assert.equal(d.get([1]), inp(cfg, 4))
      assert.deepEqual(snapshot(d), [[1n, inp(cfg, 4)]])
    })

    test('extreme one-part keys', () => {
      const d = make()
      d.set(M64 - 1n, 1)
      d.set(Number.MAX_SAFE_INTEGER, 2)
      d.set(BigInt(Number.MAX_SAFE_INTEGER), 3)
      d.set(2 ** 32, 4)
      assert.equal(d.size, 3)
      assert.equal(d.get(M64 - 1n), inp(cfg, 1))
      assert.equal(d.get(Number.MAX_SAFE_INTEGER), inp(cfg, 3))
      assert.equal(d.get(2n ** 32n), inp(cfg, 4))
      const keys = [...d.keys()].sort((a, b) => (a < b ? -1 : 1))
      assert.deepEqual(keys, [2n ** 32n, BigInt(Number.MAX_SAFE_INTEGER), M64 - 1n])
    })

    test('keys / values / entries / iterator / forEach', () => {
      const d = make()
      const model = new Map([
        [1n, 10],
        [2n, 20],
        [3n, -1],
        [100n, 0],
      ])
      for (const [k, v] of model) d.set(k, v)
      const want = [...model].map(([k, v]) => [k, norm(cfg, v)])
      const byKey = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
      const entries = [...d.entries()].sort(byKey)
      assert.deepEqual(entries, want)
      assert.deepEqual([...d].sort(byKey), want)
      assert.equal(d[Symbol.iterator]().next().value.length, 2)
      const keys = [...d.keys()]
      const values = [...d.values()]
      assert.deepEqual(
        keys.map((k, i) => [k, values[i]]),
        [...d.entries()],
      )
      for (const k of keys) assert.equal(typeof k, 'bigint')
      for (const v of values) assert.equal(typeof v, cfg.type)
      const seen = []
      const self = { tag: 'this' }
      d.forEach(function (value, key, dict) {
        assert.equal(this, self)
        assert.equal(dict, d)
        seen.push([key, value])
      }, self)
      assert.deepEqual(seen, [...d.entries()])
      // without thisArg
      let n = 0
      d.forEach(() => n++)
      assert.equal(n, 4)
      assert.throws(() => d.forEach(null), TypeError)
      // the iterators are iterable themselves
      assert.equal(typeof d.keys()[Symbol.iterator], 'function')
      assert.equal(typeof d.values().next, 'function')
    })

    test('iteration is live', () => {
      const d = make()
      const before = d.entries() // nothing read yet
      d.set(1, 1).set(2, 2).set(3, 3)
      assert.equal([...before].length, 3)
      // values changed after the first entry was read are seen for the rest
      const it = d.entries()
      const first = it.next().value
      assert.equal(first[1], d.get(first[0]))
      for (const k of [1, 2, 3]) d.add(k, 100)
      const rest = [...it]
      assert.equal(rest.length, 2)
      for (const [k, v] of rest) assert.equal(v, inp(cfg, Number(k) + 100))
    })

    test('slot: AtomicValue bound to a key, all methods and aliases', () => {
      const d = make()
      const s = d.slot(1)
      assert.ok(s instanceof AtomicValue)
      assert.equal(Object.prototype.toString.call(s), '[object AtomicValue]')
      assert.equal(d.size, 1) // slot inserts
      assert.equal(d.get(1), cfg.zero)
      assert.equal(s.load(), cfg.zero)
      assert.equal(s.store(5), undefined)
      assert.equal(d.get(1), inp(cfg, 5))
      assert.equal(s.add(3), inp(cfg, 5))
      assert.equal(s.load(), inp(cfg, 8))
      assert.equal(s.sub(10), inp(cfg, 8))
      assert.equal(s.load(), norm(cfg, -2))
      s.store(0b1100)
      assert.equal(s.and(0b1010), inp(cfg, 0b1100))
      assert.equal(s.load(), inp(cfg, 0b1000))
      assert.equal(s.or(0b0011), inp(cfg, 0b1000))
      assert.equal(s.load(), inp(cfg, 0b1011))
      assert.equal(s.xor(0b0110), inp(cfg, 0b1011))
      assert.equal(s.load(), inp(cfg, 0b1101))
      assert.equal(s.band(0b0101), inp(cfg, 0b1101))
      assert.equal(s.load(), inp(cfg, 0b0101))
      assert.equal(s.bor(0b1000), inp(cfg, 0b0101))
      assert.equal(s.load(), inp(cfg, 0b1101))
      assert.equal(s.bxor(0b1111), inp(cfg, 0b1101))
      assert.equal(s.load(), inp(cfg, 0b0010))
      assert.equal(s.swap(-1), inp(cfg, 2))
      assert.equal(s.load(), cfg.minusOne)
      assert.equal(s.exchange(7), cfg.minusOne)
      assert.equal(s.load(), inp(cfg, 7))
      assert.equal(s.cas(7, 9), inp(cfg, 7))
      assert.equal(s.load(), inp(cfg, 9))
      assert.equal(s.cas(7, 11), inp(cfg, 9))
      assert.equal(s.load(), inp(cfg, 9))
      assert.equal(s.compareExchange(9, 12), inp(cfg, 9))
      assert.equal(s.compareExchange(9, 13), inp(cfg, 12))
      assert.equal(s.load(), inp(cfg, 12))
      s.store(cfg.max)
      assert.equal(s.add(1), cfg.max)
      assert.equal(s.load(), cfg.afterMax)
      assert.equal(typeof s.load(), cfg.type)
      // shared both ways with the dict and with other slots on the key
      d.add(1n, 4)
      assert.equal(s.load(), norm(cfg, BigInt(cfg.afterMax) + 4n))
      const s2 = d.slot(1n)
      s2.store(42)
      assert.equal(s.load(), inp(cfg, 42))
      assert.equal(d.get(1), inp(cfg, 42))
      s.add(1)
      assert.equal(d.load(1), inp(cfg, 43))
      assert.equal(d.size, 1)
      // an existing key's slot does not insert anything; another key does
      d.slot(1)
      assert.equal(d.size, 1)
      d.slot(2).add(2)
      assert.equal(d.size, 2)
      assert.equal(d.get(2), inp(cfg, 2))
      assert.equal(s.band, s.and)
      assert.equal(s.bor, s.or)
      assert.equal(s.bxor, s.xor)
      assert.equal(s.exchange, s.swap)
      assert.equal(s.compareExchange, s.cas)
    })
  })
}

test('new AtomicValue() directly throws TypeError', () => {
  assert.throws(() => new AtomicValue(), TypeError)
  assert.throws(() => new AtomicValue(Symbol('AtomicValue'), new BigUint64Array(4), 0, (v) => v), TypeError)
})

describe('composite keys', () => {
  test('k64=2,k32=1: store then add to (1,2,3) hits ONE row (the Python seed bug)', () => {
    const d = new AtomicDict(10, { k64: 2, k32: 1 })
    d.store([1, 2, 3], 5)
    assert.equal(d.add([1, 2, 3], 2), 5n)
    assert.equal(d.size, 1)
    assert.equal(d.get([1, 2, 3]), 7n)
    assert.equal(d.add([1n, 2n, 3n], 1n), 7n)
    assert.equal(d.add([1n, 2, 3n], 1n), 8n)
    assert.equal(d.size, 1)
    assert.deepEqual([...d], [[[1n, 2n, 3], 9n]])
    const [key] = [...d.keys()]
    assert.equal(typeof key[0], 'bigint')
    assert.equal(typeof key[1], 'bigint')
    assert.equal(typeof key[2], 'number')
  })

  test('k64=2,k32=1: keys differing in any one part are distinct', () => {
    const d = new AtomicDict(16, { k64: 2, k32: 1 })
    const keys = [
      [1, 2, 3],
      [1, 2, 4],
      [1, 3, 3],
      [2, 2, 3],
      [3, 2, 1],
      [M64 - 1n, M64 - 1n, 2 ** 32 - 1],
    ]
    keys.forEach((k, i) => d.set(k, i + 1))
    assert.equal(d.size, keys.length)
    keys.forEach((k, i) => assert.equal(d.get(k), BigInt(i + 1)))
    assert.equal(d.get([2, 1, 3]), undefined)
    assert.equal(d.has([1, 2, 5]), false)
    assert.equal(d.load([9, 9, 9]), 0n)
    assert.equal(d.size, keys.length)
    const got = new Map([...d].map(([k, v]) => [k.join(','), v]))
    assert.deepEqual(
      got,
      new Map(keys.map((k, i) => [k.map(String).join(','), BigInt(i + 1)])),
    )
  })

  test('k64=0,k32=2: keys come back as arrays of numbers', () => {
    const d = new AtomicDict(10, { k64: 0, k32: 2 })
    d.store([1, 2], 5)
    assert.equal(d.add([1n, 2n], 1), 5n)
    assert.equal(d.sub([2, 1], 1), 0n)
    d.set([2 ** 32 - 1, 1], 3)
    assert.equal(d.size, 3)
    assert.equal(d.get([2, 1]), M64 - 1n)
    const entries = [...d].sort((a, b) => a[0][0] - b[0][0])
    assert.deepEqual(entries, [
      [[1, 2], 6n],
      [[2, 1], M64 - 1n],
      [[2 ** 32 - 1, 1], 3n],
    ])
    assert.equal(d.has([1, 3]), false)
    assert.equal(d.get([3, 1]), undefined)
    assert.equal(d.load([3, 3]), 0n)
    assert.equal(d.size, 3)
  })

  test('k64=1,k32=1 with 32-bit values', () => {
    const d = new AtomicDict(10, { k64: 1, k32: 1, valueBits: 32 })
    assert.equal(d.add([5n, 6], 1), 0)
    assert.equal(d.add([5, 6n], 2), 1)
    assert.equal(d.sub([6, 5], 1), 0)
    assert.equal(d.size, 2)
    assert.equal(d.get([5, 6]), 3)
    assert.equal(d.get([6, 5]), 2 ** 32 - 1)
    assert.equal(d.load([7, 7]), 0)
    assert.equal(d.get([7, 7]), undefined)
    assert.equal(d.has([5, 7]), false)
    assert.equal(d.size, 2)
    const s = d.slot([M64 - 1n, 2 ** 32 - 1])
    s.store(-1)
    assert.equal(d.get([M64 - 1n, 2 ** 32 - 1]), 2 ** 32 - 1)
    assert.equal(d.size, 3)
    const entries = new Map([...d].map(([k, v]) => [`${typeof k[0]}:${k[0]},${typeof k[1]}:${k[1]}`, v]))
    assert.deepEqual(
      entries,
      new Map([
        ['bigint:5,number:6', 3],
        ['bigint:6,number:5', 2 ** 32 - 1],
        [`bigint:${M64 - 1n},number:${2 ** 32 - 1}`, 2 ** 32 - 1],
      ]),
    )
  })

  test('k64=1,k32=1 signed 32-bit: wraparound', () => {
    const d = new AtomicDict(4, { k64: 1, k32: 1, valueBits: 32, signed: true })
    assert.equal(d.sub([1, 1], 1), 0)
    assert.equal(d.get([1, 1]), -1)
    d.store([1, 2], 2 ** 31 - 1)
    assert.equal(d.add([1, 2], 1), 2 ** 31 - 1)
    assert.equal(d.get([1, 2]), -(2 ** 31))
  })

  test('k64=0,k32=1: one-part 32-bit keys, bare and as numbers', () => {
    const d = new AtomicDict(8, { k64: 0, k32: 1 })
    d.add(1, 1)
    d.add(1n, 1)
    d.add([1], 1)
    d.add(2 ** 32 - 1, 5)
    assert.equal(d.size, 2)
    assert.equal(d.get(1), 3n)
    const keys = [...d.keys()].sort((a, b) => a - b)
    assert.deepEqual(keys, [1, 2 ** 32 - 1])
  })
})

// --- A seeded random run against a model Map ---------------------------------

const GEOMETRIES = [
  { k64: 1, k32: 0 },
  { k64: 0, k32: 1 },
  { k64: 2, k32: 1 },
  { k64: 0, k32: 2 },
  { k64: 1, k32: 1 },
]

/** A small list of distinct keys (as arrays of bigint parts) for a geometry. */
function keySpace(geo) {
  const parts = geo.k64 + geo.k32
  const out = []
  if (parts === 1) {
    const wide = geo.k64 === 1
    for (let i = 1n; i <= 20n; i++) out.push([i])
    out.push([wide ? M64 - 1n : 2n ** 32n - 1n])
    if (wide) out.push([2n ** 32n], [BigInt(Number.MAX_SAFE_INTEGER)], [2n ** 63n])
    return out
  }
  // every combination of parts from {1, 2, 3} plus a few extremes
  const combos = (n) => (n === 0 ? [[]] : combos(n - 1).flatMap((c) => [1n, 2n, 3n].map((p) => [...c, p])))
  out.push(...combos(parts))
  const extreme = []
  for (let i = 0; i < parts; i++) extreme.push(i < geo.k64 ? M64 - 1n : 2n ** 32n - 1n)
  out.push(extreme)
  return out
}

/** The key in a random form the API accepts: bare or array; number or bigint parts. */
function render(key, rnd) {
  const parts = key.map((p) => (p <= BigInt(Number.MAX_SAFE_INTEGER) && rnd() < 0.5 ? Number(p) : p))
  if (parts.length === 1 && rnd() < 0.8) return parts[0]
  return parts
}

function canon(key) {
  return Array.isArray(key) ? key.map(String).join(',') : String(key)
}

for (const geo of GEOMETRIES) {
  for (const cfg of CONFIGS) {
    test(`random ops vs a model Map: k64=${geo.k64},k32=${geo.k32}, ${cfg.name}`, () => {
      const rnd = prng(0x5eed + geo.k64 * 101 + geo.k32 * 13 + cfg.bits + (cfg.signed ? 7 : 0))
      const space = keySpace(geo)
      const d = new AtomicDict(space.length, { ...geo, ...cfg.opts })
      const model = new Map() // canon -> unsigned bigint
      const B = BigInt(cfg.bits)
      const mask = (1n << B) - 1n
      const randValue = () => {
        const r = rnd()
        let v
        if (r < 0.3) v = BigInt(Math.floor(rnd() * 20) - 5)
        else if (r < 0.5) v = (1n << (B - 1n)) - 1n - BigInt(Math.floor(rnd() * 3))
        else if (r < 0.6) v = mask - BigInt(Math.floor(rnd() * 3))
        else if (r < 0.7) v = -(1n << (B - 1n)) + BigInt(Math.floor(rnd() * 3))
        else v = BigInt(Math.floor(rnd() * 2 ** 32)) * (cfg.bits === 64 ? BigInt(Math.floor(rnd() * 2 ** 32)) : 1n)
        v = v > mask ? v & mask : v
        // hand it over as a bigint or (when safe) a number
        if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) && rnd() < 0.5) return Number(v)
        return v
      }
      const ops = ['add', 'sub', 'and', 'or', 'xor', 'swap', 'cas', 'store', 'set', 'load', 'get', 'has',
        'band', 'bor', 'bxor', 'exchange', 'compareExchange', 'slot']
      for (let n = 0; n < 5000; n++) {
        const key = space[Math.floor(rnd() * space.length)]
        const k = canon(key)
        const arg = render(key, rnd)
        const op = ops[Math.floor(rnd() * ops.length)]
        const present = model.has(k)
        const prev = present ? model.get(k) : 0n
        const prevOut = norm(cfg, prev)
        const v = randValue()
        const bv = BigInt.asUintN(cfg.bits, BigInt(v))
        let got
        let next = prev
        let want = prevOut
        switch (op) {
          case 'add': got = d.add(arg, v); next = prev + bv; break
          case 'sub': got = d.sub(arg, v); next = prev - bv; break
          case 'and': case 'band': got = d[op](arg, v); next = prev & bv; break
          case 'or': case 'bor': got = d[op](arg, v); next = prev | bv; break
          case 'xor': case 'bxor': got = d[op](arg, v); next = prev ^ bv; break
          case 'swap': case 'exchange': got = d[op](arg, v); next = bv; break
          case 'cas': case 'compareExchange': {
            const e = rnd() < 0.5 ? prevOut : v
            const be = BigInt.asUintN(cfg.bits, BigInt(e))
            got = d[op](arg, e, v)
            if (be === prev) next = bv
            break
          }
          case 'store': got = d.store(arg, v); want = undefined; next = bv; break
          case 'set': got = d.set(arg, v); want = d; next = bv; break
          case 'load': got = d.load(arg); break
          case 'get': got = d.get(arg); want = present ? prevOut : undefined; break
          case 'has': got = d.has(arg); want = present; break
          case 'slot': {
            const s = d.slot(arg)
            got = s.add(v)
            next = prev + bv
            break
          }
        }
        assert.equal(got, want, `op ${n}: ${op}(${k}, ${v}) on ${present ? prev : 'absent'}`)
        if (!['load', 'get', 'has'].includes(op)) model.set(k, BigInt.asUintN(cfg.bits, next))
        if (n % 500 === 0) assert.equal(d.size, model.size)
      }
      assert.equal(d.size, model.size)
      const seen = new Map()
      for (const [key, value] of d) {
        const parts = Array.isArray(key) ? key : [key]
        assert.equal(Array.isArray(key), geo.k64 + geo.k32 > 1)
        parts.forEach((p, i) => assert.equal(typeof p, i < geo.k64 ? 'bigint' : 'number'))
        assert.equal(typeof value, cfg.type)
        assert.ok(!seen.has(canon(key)), `key ${canon(key)} seen twice`)
        seen.set(canon(key), value)
      }
      const expected = new Map([...model].map(([k, v]) => [k, norm(cfg, v)]))
      assert.deepEqual(seen, expected)
      assert.deepEqual([...d.keys()].map(canon), [...d.entries()].map(([k]) => canon(k)))
      assert.deepEqual([...d.values()], [...d.entries()].map(([, v]) => v))
      for (const [k, v] of expected) {
        const key = k.split(',').map(BigInt)
        assert.equal(d.get(key.length === 1 ? key[0] : key), v)
      }
    })
  }
}
