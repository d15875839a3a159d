'use strict'
// Bad arguments: the right error class, a message naming the argument, and a
// table left exactly as it was. Full tables: ERR_ATOMIC_DICT_FULL, nothing lost.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const { AtomicDict, AtomicSet, AtomicDictFullError } = require('..')

const M64 = 2n ** 64n
const EITHER = [TypeError, RangeError]

function canon(key) {
  return Array.isArray(key) ? key.map(String).join(',') : String(key)
}

function show(v) {
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`
  if (v !== null && typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))
  return String(v)
}

function state(t) {
  return { size: t.size, entries: [...t.entries()].map(([k, v]) => [canon(k), v]) }
}

/**
 * `fn` must throw an instance of `cls` (a class or a list of acceptable
 * classes) whose message matches `name`, leaving `t` (if given) unchanged and
 * `absentKey` (if given) absent.
 */
function bad(what, fn, cls, name, t, absentKey) {
  const before = t && state(t)
  let thrown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  assert.ok(thrown !== undefined, `${what}: did not throw`)
  const classes = Array.isArray(cls) ? cls : [cls]
  assert.ok(
    classes.some((c) => thrown.constructor === c),
    `${what}: threw ${thrown && thrown.constructor && thrown.constructor.name} (${thrown && thrown.message}), want ${classes.map((c) => c.name).join(' or ')}`,
  )
  assert.match(thrown.message, name, `${what}: message does not name the argument`)
  if (t) assert.deepEqual(state(t), before, `${what}: the table changed`)
  if (t && absentKey !== undefined) assert.equal(t.has(absentKey), false, `${what}: inserted ${show(absentKey)}`)
}

/** Dict operations taking a key, called with `key` and otherwise good arguments. */
const KEY_OPS = {
  add: (d, k) => d.add(k, 1),
  sub: (d, k) => d.sub(k, 1),
  and: (d, k) => d.and(k, 1),
  or: (d, k) => d.or(k, 1),
  xor: (d, k) => d.xor(k, 1),
  band: (d, k) => d.band(k, 1),
  bor: (d, k) => d.bor(k, 1),
  bxor: (d, k) => d.bxor(k, 1),
  swap: (d, k) => d.swap(k, 1),
  exchange: (d, k) => d.exchange(k, 1),
  cas: (d, k) => d.cas(k, 0, 1),
  compareExchange: (d, k) => d.compareExchange(k, 0, 1),
  store: (d, k) => d.store(k, 1),
  set: (d, k) => d.set(k, 1),
  load: (d, k) => d.load(k),
  get: (d, k) => d.get(k),
  has: (d, k) => d.has(k),
  slot: (d, k) => d.slot(k),
}

/** Dict operations taking a value, called with a key and the value: [name, fn, argument name]. */
const VALUE_OPS = [
  ['add', (d, k, v) => d.add(k, v), /delta/],
  ['sub', (d, k, v) => d.sub(k, v), /delta/],
  ['and', (d, k, v) => d.and(k, v), /value/],
  ['or', (d, k, v) => d.or(k, v), /value/],
  ['xor', (d, k, v) => d.xor(k, v), /value/],
  ['band', (d, k, v) => d.band(k, v), /value/],
  ['bor', (d, k, v) => d.bor(k, v), /value/],
  ['bxor', (d, k, v) => d.bxor(k, v), /value/],
  ['swap', (d, k, v) => d.swap(k, v), /value/],
  ['exchange', (d, k, v) => d.exchange(k, v), /value/],
  ['store', (d, k, v) => d.store(k, v), /value/],
  ['set', (d, k, v) => d.set(k, v), /value/],
  ['cas expected', (d, k, v) => d.cas(k, v, 1), /expected/],
  ['cas desired', (d, k, v) => d.cas(k, 0, v), /desired/],
  ['compareExchange expected', (d, k, v) => d.compareExchange(k, v, 1), /expected/],
  ['compareExchange desired', (d, k, v) => d.compareExchange(k, 0, v), /desired/],
]

/** The same on a slot (no key argument). */
/** add/sub without a delta add or subtract 1 (node-conventions.test.js): not a bad value. */
function defaultDelta(op, value) {
  return value === undefined && (op === 'add' || op === 'sub')
}

const SLOT_OPS = [
  ['add', (s, v) => s.add(v), /delta/],
  ['sub', (s, v) => s.sub(v), /delta/],
  ['and', (s, v) => s.and(v), /value/],
  ['or', (s, v) => s.or(v), /value/],
  ['xor', (s, v) => s.xor(v), /value/],
  ['band', (s, v) => s.band(v), /value/],
  ['bor', (s, v) => s.bor(v), /value/],
  ['bxor', (s, v) => s.bxor(v), /value/],
  ['swap', (s, v) => s.swap(v), /value/],
  ['exchange', (s, v) => s.exchange(v), /value/],
  ['store', (s, v) => s.store(v), /value/],
  ['cas expected', (s, v) => s.cas(v, 1), /expected/],
  ['cas desired', (s, v) => s.cas(0, v), /desired/],
  ['compareExchange expected', (s, v) => s.compareExchange(v, 1), /expected/],
  ['compareExchange desired', (s, v) => s.compareExchange(0, v), /desired/],
]

// Bad one-part keys for a k64=1 table: [key, class].
const BAD_KEYS_64 = [
  [0, RangeError],
  [0n, RangeError],
  [-1, RangeError],
  [-1n, RangeError],
  [-0, RangeError],
  [2n ** 64n, RangeError],
  [2n ** 65n, RangeError],
  [2 ** 53, RangeError],
  [1.5, RangeError],
  [NaN, RangeError],
  [Infinity, RangeError],
  ['\uD800', TypeError], // a string key must be well formed (a lone surrogate has no UTF-8)
  ['a\uDC00b', TypeError],
  [null, TypeError],
  [undefined, TypeError],
  [{}, TypeError],
  [true, TypeError],
  [[0], RangeError],
  [[2n ** 64n], RangeError],
  [['\uD800'], TypeError],
  [[1, 2], EITHER], // wrong number of parts
  [[], EITHER],
]

// Bad keys for a k64=0,k32=1 table.
const BAD_KEYS_32 = [
  [0, RangeError],
  [2 ** 32, RangeError],
  [2n ** 32n, RangeError],
  [1.5, RangeError],
  ['1', TypeError], // a string stands for a 64-bit part, and this key has none
  [['1'], TypeError],
  [null, TypeError],
  [[2 ** 32], RangeError],
]

// Bad keys for a k64=2,k32=1 table.
const BAD_KEYS_COMPOSITE = [
  [[1, 2], EITHER],
  [[1, 2, 3, 4], EITHER],
  [[], EITHER],
  [1, EITHER], // a bare key for a 3-part table
  [1n, EITHER],
  [[0, 2, 3], RangeError],
  [[1, 0n, 3], RangeError],
  [[1, 2, 0], RangeError],
  [[1, 2, 2 ** 32], RangeError],
  [[1, 2, 2n ** 32n], RangeError],
  [[2n ** 64n, 2, 3], RangeError],
  [[1, -1, 3], RangeError],
  [[1, 2, 1.5], RangeError],
  [[1, 2, NaN], RangeError],
  [[1, 2, '3'], TypeError], // a string in a 32-bit part
  [[1, '\uD800', 3], TypeError],
  [[1, 2, null], TypeError],
  [[1, 2, undefined], TypeError],
  ['1,2,3', TypeError],
  [null, TypeError],
  [{}, TypeError],
]

const BAD_VALUES_64 = [
  [2n ** 64n, RangeError],
  [-(2n ** 63n) - 1n, RangeError],
  [2 ** 53, RangeError],
  [-(2 ** 53), RangeError],
  [2 ** 64, RangeError],
  [1.5, RangeError],
  [NaN, RangeError],
  [Infinity, RangeError],
  ['1', TypeError],
  [null, TypeError],
  [undefined, TypeError],
  [{}, TypeError],
  [true, TypeError],
]

const BAD_VALUES_32 = [
  [2 ** 32, RangeError],
  [-(2 ** 31) - 1, RangeError],
  [2n ** 32n, RangeError],
  [-(2n ** 31n) - 1n, RangeError],
  [2 ** 53, RangeError],
  [2n ** 64n, RangeError],
  [1.5, RangeError],
  [NaN, RangeError],
  ['1', TypeError],
  [null, TypeError],
  [undefined, TypeError],
]

function filled(opts, keys) {
  const d = new AtomicDict(32, opts)
  keys.forEach((k, i) => d.set(k, i + 1))
  return d
}

describe('bad keys', () => {
  const tables = [
    ['k64=1, 64-bit', {}, [1, 2, 3], BAD_KEYS_64],
    ['k64=1, 32-bit signed', { valueBits: 32, signed: true }, [1, 2, 3], BAD_KEYS_64],
    ['k64=0,k32=1', { k64: 0, k32: 1 }, [1, 2 ** 32 - 1], BAD_KEYS_32],
    ['k64=2,k32=1', { k64: 2, k32: 1 }, [[1, 2, 3], [3, 2, 1]], BAD_KEYS_COMPOSITE],
  ]
  for (const [name, opts, keys, badKeys] of tables) {
    test(`every dict operation rejects a bad key (${name})`, () => {
      const d = filled(opts, keys)
      for (const [key, cls] of badKeys) {
        for (const [op, fn] of Object.entries(KEY_OPS)) {
          bad(`${op}(${show(key)})`, () => fn(d, key), cls, /key/, d)
        }
      }
      // the table still works and no admission leaked
      assert.equal(d.size, keys.length)
      keys.forEach((k, i) => assert.equal(Number(d.get(k)), i + 1))
    })
  }

  test('AtomicSet add/has reject a bad key', () => {
    for (const [opts, keys, badKeys] of [
      [{}, [1, 2], BAD_KEYS_64],
      [{ k64: 0, k32: 1 }, [1, 2], BAD_KEYS_32],
      [{ k64: 2, k32: 1 }, [[1, 2, 3]], BAD_KEYS_COMPOSITE],
    ]) {
      const s = new AtomicSet(8, opts)
      keys.forEach((k) => s.add(k))
      for (const [key, cls] of badKeys) {
        bad(`set.add(${show(key)})`, () => s.add(key), cls, /key/, s)
        bad(`set.has(${show(key)})`, () => s.has(key), cls, /key/, s)
      }
      assert.equal(s.size, keys.length)
    }
  })
})

describe('bad values', () => {
  const tables = [
    ['64-bit unsigned', {}, BAD_VALUES_64, [1, 2], 99],
    ['64-bit signed', { signed: true }, BAD_VALUES_64, [1, 2], 99],
    ['32-bit unsigned', { valueBits: 32 }, BAD_VALUES_32, [1, 2], 99],
    ['32-bit signed', { valueBits: 32, signed: true }, BAD_VALUES_32, [1, 2], 99],
    ['k64=1,k32=1 32-bit', { k64: 1, k32: 1, valueBits: 32 }, BAD_VALUES_32, [[1, 2]], [2, 1]],
    ['k64=2,k32=1 64-bit', { k64: 2, k32: 1 }, BAD_VALUES_64, [[1, 2, 3]], [1, 2, 4]],
  ]
  for (const [name, opts, values, keys, newKey] of tables) {
    test(`value-taking operations reject a bad value, new key not inserted (${name})`, () => {
      const d = filled(opts, keys)
      for (const [value, cls] of values) {
        for (const [op, fn, arg] of VALUE_OPS) {
          if (defaultDelta(op, value)) continue
          bad(`${op}(new key, ${show(value)})`, () => fn(d, newKey, value), cls, arg, d, newKey)
          bad(`${op}(existing key, ${show(value)})`, () => fn(d, keys[0], value), cls, arg, d)
        }
      }
      assert.equal(d.size, keys.length)
      assert.equal(d.has(newKey), false)
    })

    test(`slot operations reject a bad value, the value unchanged (${name})`, () => {
      const d = filled(opts, keys)
      const s = d.slot(keys[0])
      for (const [value, cls] of values) {
        for (const [op, fn, arg] of SLOT_OPS) {
          if (defaultDelta(op, value)) continue
          bad(`slot.${op}(${show(value)})`, () => fn(s, value), cls, arg, d)
        }
      }
      assert.equal(Number(s.load()), 1)
    })
  }

  test('bad values do not leak admissions: a table that saw them still holds its capacity', () => {
    const d = new AtomicDict(3)
    for (let k = 1; k <= 50; k++) {
      for (const [, fn] of VALUE_OPS) assert.throws(() => fn(d, k, 'x'), TypeError)
    }
    assert.equal(d.size, 0)
    d.set(101, 1).set(102, 2).set(103, 3)
    assert.equal(d.size, 3)
  })
})

describe('constructor arguments', () => {
  const BAD_CAPACITY = [
    [0, RangeError],
    [-1, RangeError],
    [1.5, RangeError],
    [2 ** 53, RangeError],
    [2 ** 40 + 1, RangeError],
    ['10', TypeError],
    [NaN, RangeError],
    [Infinity, RangeError],
    [-Infinity, RangeError],
    [undefined, TypeError],
    [null, TypeError],
  ]
  for (const [Cls, label] of [
    [AtomicDict, 'AtomicDict'],
    [AtomicSet, 'AtomicSet'],
  ]) {
    test(`${label}: bad capacity`, () => {
      for (const [cap, cls] of BAD_CAPACITY) bad(`new ${label}(${show(cap)})`, () => new Cls(cap), cls, /capacity/)
    })

    test(`${label}: bad options`, () => {
      const cases = [
        [{ k64: -1 }, RangeError, /options\.k64/],
        [{ k64: 1.5 }, RangeError, /options\.k64/],
        [{ k64: '1' }, TypeError, /options\.k64/],
        [{ k64: null }, TypeError, /options\.k64/],
        [{ k64: 9 }, RangeError, /options\.k64/],
        [{ k64: NaN }, RangeError, /options\.k64/],
        [{ k32: -1 }, RangeError, /options\.k32/],
        [{ k32: 1.5 }, RangeError, /options\.k32/],
        [{ k32: '1' }, TypeError, /options\.k32/],
        [{ k64: 0, k32: 0 }, RangeError, /options\.k64/],
        [{ k64: 0 }, RangeError, /options\.k64/],
        [{ k64: 8, k32: 1 }, RangeError, /options\.k64/], // 68-byte row
        [null, TypeError, /options/],
        ['x', TypeError, /options/],
        [5, TypeError, /options/],
      ]
      for (const [opts, cls, name] of cases) bad(`new ${label}(4, ${show(opts)})`, () => new Cls(4, opts), cls, name)
    })
  }

  test('AtomicDict: bad valueBits / signed / row size', () => {
    const cases = [
      [{ valueBits: 16 }, RangeError, /options\.valueBits/],
      [{ valueBits: 8 }, RangeError, /options\.valueBits/],
      [{ valueBits: 0 }, RangeError, /options\.valueBits/],
      [{ valueBits: '64' }, TypeError, /options\.valueBits/],
      [{ signed: 'yes' }, TypeError, /options\.signed/],
      [{ signed: 1 }, TypeError, /options\.signed/],
      [{ k64: 8 }, RangeError, /options\.k64/], // 72-byte row with a 64-bit value
      [{ k64: 8, valueBits: 32 }, RangeError, /options\.k64/],
      [{ k64: 7, k32: 2 }, RangeError, /options\.k64/],
      [{ k64: 0, k32: 16 }, RangeError, /options\.k64/],
    ]
    for (const [opts, cls, name] of cases) bad(`new AtomicDict(4, ${show(opts)})`, () => new AtomicDict(4, opts), cls, name)
  })

  test('the largest rows that fit are accepted', () => {
    const d = new AtomicDict(4, { k64: 7 })
    d.set([1, 2, 3, 4, 5, 6, 7], 9)
    assert.equal(d.get([1n, 2n, 3n, 4n, 5n, 6n, 7n]), 9n)
    assert.equal(new AtomicDict(4, { k64: 0, k32: 15, valueBits: 32 }).capacity, 4)
    const s = new AtomicSet(4, { k64: 8 })
    assert.equal(s.add([1, 2, 3, 4, 5, 6, 7, 8]), true)
    assert.equal(new AtomicSet(4, { k64: 0, k32: 16 }).size, 0)
  })
})

describe('full tables', () => {
  // Every operation that inserts an absent key: [name, fn(dict, key)].
  const INSERTING = [
    ['add', (d, k) => d.add(k, 1)],
    ['sub', (d, k) => d.sub(k, 1)],
    ['and', (d, k) => d.and(k, 1)],
    ['or', (d, k) => d.or(k, 1)],
    ['xor', (d, k) => d.xor(k, 1)],
    ['store', (d, k) => d.store(k, 1)],
    ['set', (d, k) => d.set(k, 1)],
    ['slot', (d, k) => d.slot(k)],
    ['swap', (d, k) => d.swap(k, 1)],
    ['exchange', (d, k) => d.exchange(k, 1)],
    ['cas', (d, k) => d.cas(k, 0, 1)],
    ['compareExchange', (d, k) => d.compareExchange(k, 0, 1)],
  ]

  // Key generators: the i-th distinct key (i from 0) for a geometry.
  const GEOMETRIES = [
    ['k64=1 sequential', {}, (i) => i + 1],
    ['k64=1 spread bigints', {}, (i) => ((BigInt(i) + 1n) * 0x9e3779b97f4a7c15n) % (M64 - 1n) + 1n],
    ['k64=0,k32=2 32-bit values', { k64: 0, k32: 2, valueBits: 32 }, (i) => [(i % 7) + 1, Math.floor(i / 7) + 1]],
    ['k64=2,k32=1', { k64: 2, k32: 1 }, (i) => [1, (i % 3) + 1, Math.floor(i / 3) + 1]],
    ['k64=7 (one row a block)', { k64: 7 }, (i) => [1, 1, 1, 1, 1, 1, i + 1]],
  ]

  for (const [name, opts, keyAt] of GEOMETRIES) {
    test(`N keys fit, the next insert throws ERR_ATOMIC_DICT_FULL (${name})`, () => {
      for (const n of [1, 2, 3, 10, 1000]) {
        const d = new AtomicDict(n, opts)
        assert.equal(d.capacity, n)
        const value = (i) => (i * 37 + 5) % 1000
        for (let i = 0; i < n; i++) {
          // alternate the inserting operations to fill the table
          const k = keyAt(i)
          if (i % 3 === 0) d.set(k, value(i))
          else if (i % 3 === 1) d.add(k, value(i))
          else d.slot(k).store(value(i))
        }
        assert.equal(d.size, n, `N=${n}: size after filling`)
        const before = state(d)
        INSERTING.forEach(([op, fn], j) => {
          const k = keyAt(n + j)
          let thrown
          try {
            fn(d, k)
          } catch (e) {
            thrown = e
          }
          assert.ok(thrown, `N=${n}: ${op} on a new key did not throw`)
          assert.ok(thrown instanceof AtomicDictFullError, `N=${n}: ${op}: ${thrown}`)
          assert.ok(thrown instanceof Error)
          assert.equal(thrown.code, 'ERR_ATOMIC_DICT_FULL')
          assert.equal(d.has(k), false)
          assert.equal(d.get(k), undefined)
          assert.equal(Number(d.load(k)), 0)
          assert.deepEqual(state(d), before, `N=${n}: ${op} changed the table`)
        })
        assert.equal(d.size, n)
        // every earlier key keeps its value, and still works
        for (let i = 0; i < n; i++) assert.equal(Number(d.get(keyAt(i))), value(i), `N=${n}: key ${i}`)
        for (let i = 0; i < n; i++) {
          const k = keyAt(i)
          assert.equal(Number(d.add(k, 1)), value(i))
          assert.equal(Number(d.swap(k, 7)), value(i) + 1)
          assert.equal(Number(d.cas(k, 7, 8)), 7)
          d.store(k, 9)
          d.set(k, 10)
          assert.equal(Number(d.slot(k).add(1)), 10)
          assert.equal(Number(d.sub(k, 1)), 11)
        }
        assert.equal(d.size, n)
        assert.equal([...d].length, n)
        for (const v of d.values()) assert.equal(Number(v), 10)
      }
    })
  }

  test('AtomicSet: N keys fit, the next add throws ERR_ATOMIC_DICT_FULL', () => {
    for (const [opts, keyAt] of [
      [{}, (i) => i + 1],
      [{ k64: 0, k32: 2 }, (i) => [(i % 5) + 1, Math.floor(i / 5) + 1]],
      [{ k64: 8 }, (i) => [1, 1, 1, 1, 1, 1, 1, i + 1]],
    ]) {
      for (const n of [1, 2, 3, 10, 1000]) {
        const s = new AtomicSet(n, opts)
        for (let i = 0; i < n; i++) assert.equal(s.add(keyAt(i)), true)
        assert.equal(s.size, n)
        const before = state(s)
        for (let j = 0; j < 3; j++) {
          const k = keyAt(n + j)
          assert.throws(
            () => s.add(k),
            (e) => e instanceof AtomicDictFullError && e.code === 'ERR_ATOMIC_DICT_FULL',
          )
          assert.equal(s.has(k), false)
        }
        assert.deepEqual(state(s), before)
        for (let i = 0; i < n; i++) {
          assert.equal(s.has(keyAt(i)), true)
          assert.equal(s.add(keyAt(i)), false)
        }
        assert.equal(s.size, n)
      }
    }
  })

  test('failed inserts do not use up room: a full table stays at exactly N', () => {
    const d = new AtomicDict(5)
    for (let i = 1; i <= 5; i++) d.add(i, i)
    for (let i = 0; i < 200; i++) assert.throws(() => d.add(1000 + i, 1), { code: 'ERR_ATOMIC_DICT_FULL' })
    assert.equal(d.size, 5)
    assert.deepEqual(
      [...d].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      [1n, 2n, 3n, 4n, 5n].map((k) => [k, k]),
    )
  })
})
