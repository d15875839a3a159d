'use strict'
// The bulk calls: getMany, loadMany, addMany, storeMany (AtomicDict) and
// addMany (AtomicSet). Exact results against a JS model for every value
// width and signedness and every key shape, with duplicates, empty and
// large calls; the same results as the same single calls, which they see and
// which see them (caches included, and through a second object); bad input
// and a full table change nothing; closed tables; several processes at once;
// getters that call back into the dict in the middle of a call.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { AtomicDict, AtomicSet, stringKey, spawn } = require('..')
const { forked } = require('./fixtures/forked')
const participant = require('./fixtures/bulk-child')

const CHILD = path.join(__dirname, 'fixtures', 'bulk-child.js')
const ROOT = path.join(__dirname, '..')
const FULL = 'ERR_ATOMIC_DICT_FULL'
const CLOSED = 'ERR_ATOMIC_DICT_CLOSED'

// ------------------------------------------------------------- the models

const VALUES = [
  { name: '64-bit unsigned', opts: {}, bits: 64, signed: false },
  { name: '64-bit signed', opts: { signed: true }, bits: 64, signed: true },
  { name: '32-bit unsigned', opts: { valueBits: 32 }, bits: 32, signed: false },
  { name: '32-bit signed', opts: { valueBits: 32, signed: true }, bits: 32, signed: true },
]

const SHAPES = [
  { name: 'one 64-bit part', k64: 1, k32: 0 },
  { name: 'one 32-bit part', k64: 0, k32: 1 },
  { name: 'k64=2, k32=1', k64: 2, k32: 1 },
  { name: 'k64=0, k32=2', k64: 0, k32: 2 },
]

const { prng } = require('./fixtures/prng')

/** What a table of `cfg` hands back for the mathematical value x. */
function norm(cfg, x) {
  const v = cfg.signed ? BigInt.asIntN(cfg.bits, BigInt(x)) : BigInt.asUintN(cfg.bits, BigInt(x))
  return cfg.bits === 64 ? v : Number(v)
}

/** A part's value in the table: a string's stringKey, else the integer. */
function partValue(p) {
  return typeof p === 'string' ? stringKey(p) : BigInt(p)
}

/** The model's name for a key given in any form. */
function canon(shape, key) {
  const parts = Array.isArray(key) ? key : [key]
  return parts.map(partValue).join(',')
}

/** The key as iteration hands it back (64-bit parts bigint, 32-bit numbers, one part bare). */
function iterForm(shape, key) {
  const parts = (Array.isArray(key) ? key : [key]).map((p, i) => (i < shape.k64 ? partValue(p) : Number(p)))
  return parts.length === 1 ? parts[0] : parts
}

const WIDE = [1n, 2n, 3n, 255n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]
const STRINGS = ['a', 'b', '', 'route:/x', 'ключ', '😀', '5']
const NARROW = [1n, 2n, 5n, 7n, 0xffffn, 2n ** 31n, 2n ** 32n - 1n]

/** One part's forms: the same key part as a bigint, a number (when safe), or for strings the string and its stringKey. */
function partForms(p) {
  if (typeof p === 'string') return [p, p, stringKey(p)]
  const forms = [p]
  if (p <= BigInt(Number.MAX_SAFE_INTEGER)) forms.push(Number(p))
  return forms
}

/** A pool of `n` distinct canonical keys (arrays of parts: bigints or strings) for `shape`. */
function keyPool(shape, n, next) {
  const seen = new Set()
  const pool = []
  const part = (wide) => {
    const r = next()
    if (wide) {
      if (r < 0.3) return STRINGS[Math.floor(next() * STRINGS.length)]
      if (r < 0.6) return WIDE[Math.floor(next() * WIDE.length)]
      return BigInt.asUintN(64, BigInt(Math.floor(next() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(next() * 2 ** 32))) || 9n
    }
    if (r < 0.4) return NARROW[Math.floor(next() * NARROW.length)]
    return BigInt(1 + Math.floor(next() * (2 ** 32 - 1)))
  }
  while (pool.length < n) {
    const parts = []
    for (let i = 0; i < shape.k64 + shape.k32; i++) parts.push(part(i < shape.k64))
    const c = canon(shape, parts)
    if (seen.has(c)) continue
    seen.add(c)
    pool.push(parts)
  }
  return pool
}

/** The canonical key `parts` in a form picked at random: parts in any accepted form, one part bare or as an array. */
function anyForm(shape, parts, next) {
  const given = parts.map((p) => {
    const forms = partForms(p)
    return forms[Math.floor(next() * forms.length)]
  })
  if (given.length === 1 && next() < 0.75) return given[0]
  return given
}

/** A value for `cfg` in a form picked at random (bigint or number), within what the table takes. */
function anyValue(cfg, next) {
  const r = next()
  let x
  if (r < 0.3) x = Math.floor(next() * 10) - 3
  else if (cfg.bits === 64) {
    x = r < 0.6 ? BigInt(Math.floor(next() * 2 ** 53)) - 2n ** 52n : BigInt.asIntN(64, BigInt(Math.floor(next() * 2 ** 32)) << 31n)
    if (r > 0.95) x = cfg.signed ? -(2n ** 63n) : 2n ** 64n - 1n
  } else {
    x = Math.floor(next() * 2 ** 32) - 2 ** 31
    if (r > 0.95) x = cfg.signed ? -(2 ** 31) : 2 ** 32 - 1
  }
  if (typeof x === 'bigint') return cfg.bits === 32 || (x >= -(2n ** 53n) + 1n && x < 2n ** 53n && next() < 0.5) ? Number(x) : x
  return next() < 0.5 ? BigInt(x) : x
}

/** The dict's content as a sorted list of [canonical key, value]. */
function contents(shape, d) {
  return [...d.entries()].map(([k, v]) => [canon(shape, k), v]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function setContents(shape, s) {
  return [...s].map((k) => canon(shape, k)).sort()
}

/** Everything a call must leave unchanged: size, entries, and the audit. */
function snapshot(shape, t) {
  return {
    size: t.size,
    entries: t instanceof AtomicSet ? setContents(shape, t) : contents(shape, t),
    verify: t.verify(),
  }
}

/** A random sequence of bulk calls: [method, keys, operand]. */
function bulkOps(cfg, shape, count, seed, pool) {
  const next = prng(seed)
  const ops = []
  for (let i = 0; i < count; i++) {
    const r = next()
    // Mostly small calls (duplicates among few pool keys), sometimes empty, sometimes one key.
    const n = next() < 0.1 ? 0 : next() < 0.2 ? 1 : Math.floor(next() * 30)
    const keys = Array.from({ length: n }, () => anyForm(shape, pool[Math.floor(next() * pool.length)], next))
    if (r < 0.3) ops.push(['addMany', keys, keys.map(() => anyValue(cfg, next))])
    else if (r < 0.4) ops.push(['addMany', keys, anyValue(cfg, next)])
    else if (r < 0.55) ops.push(['storeMany', keys, keys.map(() => anyValue(cfg, next))])
    else if (r < 0.6) ops.push(['storeMany', keys, anyValue(cfg, next)])
    else if (r < 0.8) ops.push(['getMany', keys])
    else ops.push(['loadMany', keys])
  }
  return ops
}

/** What a bulk call returns and does, on the model (a Map of canonical key to mathematical value). */
function modelCall(cfg, shape, model, [method, keys, operand]) {
  const at = (i) => (Array.isArray(operand) ? operand[i] : operand)
  const out = keys.map((key, i) => {
    const c = canon(shape, key)
    const had = model.has(c)
    const before = had ? model.get(c) : 0n
    if (method === 'getMany') return had ? norm(cfg, before) : undefined
    if (method === 'loadMany') return norm(cfg, before)
    if (method === 'addMany') model.set(c, BigInt.asUintN(cfg.bits, before + BigInt(at(i))))
    else model.set(c, BigInt.asUintN(cfg.bits, BigInt(at(i))))
    return norm(cfg, before)
  })
  return method === 'storeMany' ? undefined : out
}

/** The same call made one key at a time with the single methods. */
function singleCalls(d, [method, keys, operand]) {
  const at = (i) => (Array.isArray(operand) ? operand[i] : operand)
  switch (method) {
    case 'getMany':
      return keys.map((k) => d.get(k))
    case 'loadMany':
      return keys.map((k) => d.load(k))
    case 'addMany':
      return keys.map((k, i) => d.add(k, at(i)))
    case 'storeMany':
      keys.forEach((k, i) => d.store(k, at(i)))
      return undefined
  }
  throw new Error(method)
}

function modelContents(cfg, model) {
  return [...model].map(([k, v]) => [k, norm(cfg, v)]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function show(x) {
  try {
    return JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'symbol' ? String(v) : v))
  } catch {
    return Object.prototype.toString.call(x)
  }
}

// ------------------------------------------------------- exact, per shape

for (const shape of SHAPES) {
  const opts = { k64: shape.k64, k32: shape.k32 }
  describe(`bulk calls, keys of ${shape.name}`, () => {
    for (const cfg of VALUES) {
      test(`${cfg.name}: exact results against a model, and the same as single calls`, () => {
        const next = prng(shape.k64 * 31 + shape.k32 * 7 + cfg.bits + (cfg.signed ? 1 : 0))
        const pool = keyPool(shape, 48, next)
        const ops = bulkOps(cfg, shape, 400, 1000 + shape.k64 * 10 + shape.k32 + cfg.bits, pool)
        const bulk = new AtomicDict(64, { ...opts, ...cfg.opts })
        const single = new AtomicDict(64, { ...opts, ...cfg.opts })
        const model = new Map()
        for (const [n, op] of ops.entries()) {
          const want = modelCall(cfg, shape, model, op)
          const got = bulk[op[0]](op[1], op[2])
          assert.deepEqual(got, want, `call ${n}: ${op[0]}(${show(op[1])}, ${show(op[2])})`)
          assert.deepEqual(singleCalls(single, op), want, `call ${n} made one key at a time`)
          assert.equal(bulk.size, model.size, `size after call ${n}`)
        }
        const wantContents = modelContents(cfg, model)
        assert.deepEqual(contents(shape, bulk), wantContents)
        assert.deepEqual(contents(shape, single), wantContents)
        // Iteration gives the keys in their documented form.
        for (const [k, v] of bulk) {
          const c = canon(shape, k)
          assert.deepEqual(k, iterForm(shape, k))
          assert.equal(v, norm(cfg, model.get(c)))
        }
        assert.equal(bulk.verify().ok, true)
        assert.equal(single.verify().ok, true)
        bulk.close()
        single.close()
      })
    }

    test('AtomicSet.addMany: true only for the call and position that inserted each key; the same as single adds', () => {
      const next = prng(77 + shape.k64 * 3 + shape.k32)
      const pool = keyPool(shape, 300, next)
      const bulk = new AtomicSet(300, opts)
      const single = new AtomicSet(300, opts)
      const model = new Set()
      for (let call = 0; call < 150; call++) {
        const n = call % 17 === 0 ? 0 : call % 13 === 0 ? 1 : Math.floor(next() * 12)
        const keys = Array.from({ length: n }, () => anyForm(shape, pool[Math.floor(next() * pool.length)], next))
        const want = keys.map((k) => {
          const c = canon(shape, k)
          if (model.has(c)) return false
          model.add(c)
          return true
        })
        assert.deepEqual(bulk.addMany(keys), want, `call ${call}: addMany(${show(keys)})`)
        assert.deepEqual(keys.map((k) => single.add(k)), want, `call ${call}, one key at a time`)
        assert.equal(bulk.size, model.size)
      }
      const wantKeys = [...model].sort()
      assert.deepEqual(setContents(shape, bulk), wantKeys)
      assert.deepEqual(setContents(shape, single), wantKeys)
      for (const k of bulk) assert.deepEqual(k, iterForm(shape, k))
      assert.equal(bulk.verify().ok, true)
      bulk.close()
      single.close()
    })

    test('duplicates inside one call are taken in order; empty calls do nothing', () => {
      const pool = keyPool(shape, 2, prng(5 + shape.k32))
      const [a, b] = pool
      const d = new AtomicDict(8, opts)
      const forms = (k) => [anyForm(shape, k, () => 0), anyForm(shape, k, () => 0.99), k]
      // The same key three times (in different forms), another between.
      const keys = [...forms(a), b, ...forms(a)]
      assert.deepEqual(d.addMany(keys, [1n, 2n, 3n, 10n, 4n, 5n, 6n]), [0n, 1n, 3n, 0n, 6n, 10n, 15n])
      assert.deepEqual(d.getMany(keys), [21n, 21n, 21n, 10n, 21n, 21n, 21n])
      assert.equal(d.size, 2)
      assert.equal(d.storeMany([a, b, a], [7n, 8n, 9n]), undefined)
      assert.deepEqual(d.loadMany([a, b]), [9n, 8n])
      assert.deepEqual(d.addMany([b, b, b], 2n), [8n, 10n, 12n])
      assert.deepEqual(d.getMany([b]), [14n])
      // Empty calls: nothing changes, and the result is an empty array.
      const before = snapshot(shape, d)
      assert.deepEqual(d.getMany([]), [])
      assert.deepEqual(d.loadMany([]), [])
      assert.deepEqual(d.addMany([], []), [])
      assert.deepEqual(d.addMany([], 5n), [])
      assert.equal(d.storeMany([], []), undefined)
      assert.equal(d.storeMany([], 5n), undefined)
      assert.deepEqual(snapshot(shape, d), before)
      const s = new AtomicSet(4, opts)
      assert.deepEqual(s.addMany([]), [])
      assert.deepEqual(s.addMany([a, ...forms(a), b, b]), [true, false, false, false, true, false])
      assert.deepEqual(s.addMany([b, a]), [false, false])
      assert.equal(s.size, 2)
      d.close()
      s.close()
    })
  })
}

// ------------------------------------------------------------ large calls

describe('large calls (far bigger than any scratch) and calls of one key', () => {
  const N = 100_000

  test('one-part keys: 100k numbers, bigints and strings in one call', () => {
    const d = new AtomicDict(N + 10, { valueBits: 32 })
    const keys = Array.from({ length: N }, (_, i) => (i % 3 === 0 ? i + 1 : i % 3 === 1 ? BigInt(2 ** 40 + i) : `s${i}`))
    const deltas = keys.map((_, i) => i % 1000)
    assert.deepEqual(d.addMany(keys, deltas), new Array(N).fill(0))
    assert.equal(d.size, N)
    assert.deepEqual(d.getMany(keys), deltas)
    assert.deepEqual(d.addMany(keys, 1), deltas)
    const plusOne = deltas.map((x) => x + 1)
    assert.deepEqual(d.loadMany(keys), plusOne)
    // Spot checks through the single calls (and their caches).
    for (let i = 0; i < N; i += 997) {
      assert.equal(d.get(keys[i]), plusOne[i])
      assert.equal(d.add(keys[i], 1), plusOne[i])
    }
    d.storeMany(keys, keys.map((_, i) => N - i))
    assert.deepEqual(d.getMany(keys), keys.map((_, i) => N - i))
    // Half present, half absent.
    const mixed = Array.from({ length: N }, (_, i) => (i % 2 ? keys[i] : 3 * 2 ** 40 + i))
    const got = d.getMany(mixed)
    for (let i = 0; i < N; i++) assert.equal(got[i], i % 2 ? N - i : undefined)
    assert.equal(d.size, N, 'getMany never inserts')
    assert.equal(d.verify().ok, true)
    d.close()
  })

  test('composite keys: 100k keys of k64=2, k32=1 in one call; a set of 100k', () => {
    const d = new AtomicDict(N, { k64: 2, k32: 1 })
    const keys = Array.from({ length: N }, (_, i) => [i % 2 ? `r${i % 100}` : BigInt(i % 100) + 1n, i + 1, (i % 7) + 1])
    assert.deepEqual(d.addMany(keys, 3n), new Array(N).fill(0n))
    assert.equal(d.size, N)
    // Exactly full: one more key does not fit.
    assert.throws(() => d.addMany([[1n, 1, 1], [9n, 9, 9]], 1n), { code: FULL })
    assert.deepEqual(d.addMany(keys, keys.map((_, i) => BigInt(i))), new Array(N).fill(3n))
    const values = d.getMany(keys)
    for (let i = 0; i < N; i++) assert.equal(values[i], BigInt(i) + 3n)
    const s = new AtomicSet(N, { k64: 0, k32: 2 })
    const setKeys = Array.from({ length: N }, (_, i) => [(i % 317) + 1, Math.floor(i / 317) + 1])
    assert.deepEqual(s.addMany(setKeys), new Array(N).fill(true))
    assert.deepEqual(s.addMany(setKeys.slice(0, 1000)), new Array(1000).fill(false))
    assert.equal(s.size, N)
    assert.equal(d.verify().ok, true)
    assert.equal(s.verify().ok, true)
    d.close()
    s.close()
  })

  test('calls of one key, repeated, give the same as single calls', () => {
    for (const shape of SHAPES) {
      const opts = { k64: shape.k64, k32: shape.k32 }
      const pool = keyPool(shape, 5, prng(9))
      const a = new AtomicDict(8, opts)
      const b = new AtomicDict(8, opts)
      const s = new AtomicSet(8, opts)
      for (let i = 0; i < 50; i++) {
        const k = pool[i % 5]
        assert.deepEqual(a.addMany([k], [BigInt(i)]), [b.add(k, BigInt(i))])
        assert.deepEqual(a.addMany([k], 1n), [b.add(k, 1n)])
        assert.deepEqual(a.getMany([k]), [b.get(k)])
        assert.deepEqual(a.loadMany([k]), [b.load(k)])
        assert.deepEqual(s.addMany([k]), [i < 5])
      }
      assert.deepEqual(contents(shape, a), contents(shape, b))
      a.close()
      b.close()
      s.close()
    }
  })
})

// ----------------------------------------- bulk and single calls together

describe('bulk and single calls see each other', () => {
  for (const shape of SHAPES) {
    test(`keys of ${shape.name}: in one object and through a second one`, () => {
      const opts = { k64: shape.k64, k32: shape.k32 }
      const pool = keyPool(shape, 40, prng(11 + shape.k64))
      const d = new AtomicDict(64, opts)
      const twin = AtomicDict.attach(d.share())
      const [first, second] = [pool.slice(0, 20), pool.slice(20)]

      // Single calls look the keys up first, absent: nothing may be cached for them.
      for (const k of first) assert.equal(d.get(k), undefined)
      for (const k of first) assert.equal(twin.has(k), false)
      // Inserted by addMany: found by the single calls of both objects.
      assert.deepEqual(d.addMany(first, 5n), new Array(20).fill(0n))
      for (const k of first) {
        assert.equal(d.get(k), 5n)
        assert.equal(twin.get(k), 5n)
        assert.equal(d.add(k, 1n), 5n) // cached from here on
        assert.equal(twin.add(k, 1n), 6n)
      }
      assert.equal(d.size, 20, 'the single adds found the rows addMany inserted')
      // Cached keys changed by bulk calls: the caches hold rows, values are read live.
      assert.deepEqual(twin.addMany(first, 10n), new Array(20).fill(7n))
      for (const k of first) assert.equal(d.get(k), 17n)
      d.storeMany(first, first.map((_, i) => BigInt(i)))
      for (const [i, k] of first.entries()) assert.equal(twin.load(k), BigInt(i))

      // Inserted by single calls (and cached), found by the bulk calls of both objects.
      for (const [i, k] of second.entries()) assert.equal(d.add(k, BigInt(i + 100)), 0n)
      assert.deepEqual(d.getMany(second), second.map((_, i) => BigInt(i + 100)))
      assert.deepEqual(twin.addMany(second, 1n), second.map((_, i) => BigInt(i + 100)))
      assert.deepEqual(d.loadMany(second), second.map((_, i) => BigInt(i + 101)))
      assert.equal(d.size, 40)
      assert.equal(twin.size, 40)
      assert.deepEqual(contents(shape, d), contents(shape, twin))
      assert.equal(d.verify().ok, true)

      const s = new AtomicSet(64, opts)
      const sTwin = AtomicSet.attach(s.share())
      assert.deepEqual(s.addMany(first), new Array(20).fill(true))
      for (const k of first) {
        assert.equal(s.add(k), false)
        assert.equal(sTwin.add(k), false)
        assert.equal(sTwin.has(k), true)
      }
      for (const k of second) assert.equal(sTwin.add(k), true)
      assert.deepEqual(s.addMany(second), new Array(20).fill(false))
      assert.deepEqual(sTwin.addMany([...first, ...second]), new Array(40).fill(false))
      assert.equal(s.size, 40)
      for (const t of [d, twin, s, sTwin]) t.close()
    })
  }
})

// ---------------------------------------------------- bad input, no change

/** Per shape: valid new keys and bad keys, each with the error it must raise (class, and what the message says beyond naming keys[i]). */
const BAD_KEYS = {
  'one 64-bit part': {
    good: [[11n], [12], ['twelve'], [2n ** 64n - 1n]],
    bad: [
      [0, RangeError],
      [-1, RangeError],
      [2 ** 64, RangeError],
      [2n ** 64n, RangeError],
      [0n, RangeError],
      [-1n, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [-0, RangeError],
      [2 ** 53, RangeError],
      ['\uD800', TypeError, /surrogate/],
      ['a\uDFFFb', TypeError, /surrogate/],
      [[1n, 2n], RangeError, /1 part/],
      [[], RangeError, /1 part/],
      [[0n], RangeError, /keys\[\d+\]\[0\]/],
      [{}, TypeError],
      [null, TypeError],
      [undefined, TypeError],
      [true, TypeError],
      [Symbol('k'), TypeError],
      [new Number(5), TypeError],
      [Object(5n), TypeError],
    ],
  },
  'one 32-bit part': {
    good: [[11], [12n], [2 ** 32 - 1]],
    bad: [
      [0, RangeError],
      [2 ** 32, RangeError],
      [2n ** 32n, RangeError],
      [-1, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      ['a', TypeError, /string/],
      ['5', TypeError, /string/],
      [[5, 5], RangeError, /1 part/],
      [[2 ** 32], RangeError, /keys\[\d+\]\[0\]/],
      [{}, TypeError],
    ],
  },
  'k64=2, k32=1': {
    good: [[[1n, 'x', 3]], [[2, 2n ** 63n, 3n]], [['x', 'y', 2 ** 32 - 1]]],
    bad: [
      [[1n, 2n], RangeError, /3 parts/],
      [[1n, 2n, 3, 4], RangeError, /3 parts/],
      [[1n, 2n, 'x'], TypeError, /keys\[\d+\]\[2\]/],
      [[1n, 2n, 0], RangeError, /keys\[\d+\]\[2\]/],
      [[0n, 2n, 1], RangeError, /keys\[\d+\]\[0\]/],
      [[1n, 2n, 2 ** 32], RangeError, /keys\[\d+\]\[2\]/],
      [[1n, 2 ** 53, 1], RangeError, /keys\[\d+\]\[1\]/],
      [[1n, '\uD800', 1], TypeError, /keys\[\d+\]\[1\]/],
      // eslint-disable-next-line no-sparse-arrays
      [[1n, , 1], TypeError, /keys\[\d+\]\[1\]/],
      [5n, TypeError, /array of 3 parts/],
      ['x', TypeError, /array of 3 parts/],
      [{ 0: 1n, 1: 1n, 2: 1, length: 3 }, TypeError, /array of 3 parts/],
    ],
  },
  'k64=0, k32=2': {
    good: [[[1, 2]], [[2n ** 32n - 1n, 1]]],
    bad: [
      [[1, 'a'], TypeError, /keys\[\d+\]\[1\]/],
      [[1, 2 ** 32], RangeError, /keys\[\d+\]\[1\]/],
      [[1, -0], RangeError, /keys\[\d+\]\[1\]/],
      [[1], RangeError, /2 parts/],
      [7, TypeError, /array of 2 parts/],
      [new Uint32Array([1, 2]), TypeError, /array of 2 parts/],
    ],
  },
}

describe('bad input changes nothing', () => {
  for (const shape of SHAPES) {
    const opts = { k64: shape.k64, k32: shape.k32 }
    const { good, bad } = BAD_KEYS[shape.name]
    const goodKeys = good.map(([k]) => k)

    test(`keys of ${shape.name}: a bad key at the last position is refused by every bulk call before anything changes`, () => {
      const pool = keyPool(shape, 6, prng(3))
      const d = new AtomicDict(32, opts)
      d.storeMany(pool, pool.map((_, i) => BigInt(i + 1)))
      const s = new AtomicSet(32, opts)
      s.addMany(pool)
      const before = snapshot(shape, d)
      const setBefore = snapshot(shape, s)
      for (const [key, Class, extra] of bad) {
        // Present keys and new ones, then the bad one.
        const keys = [...pool, ...goodKeys, key]
        const i = keys.length - 1
        const name = new RegExp(`keys\\[${i}\\]`)
        const calls = {
          getMany: () => d.getMany(keys),
          loadMany: () => d.loadMany(keys),
          addMany: () => d.addMany(keys, 1n),
          'addMany (deltas array)': () => d.addMany(keys, keys.map(() => 1n)),
          storeMany: () => d.storeMany(keys, 9n),
          'set.addMany': () => s.addMany(keys),
        }
        for (const [method, call] of Object.entries(calls)) {
          assert.throws(call, (e) => {
            assert.equal(e.constructor, Class, `${method}(…, ${show(key)}): ${e.constructor.name} ${e.message}`)
            assert.match(e.message, name, `${method}(…, ${show(key)})`)
            if (extra) assert.match(e.message, extra, `${method}(…, ${show(key)})`)
            return true
          })
        }
        assert.deepEqual(snapshot(shape, d), before, `after the bad key ${show(key)}`)
        assert.deepEqual(snapshot(shape, s), setBefore, `the set after the bad key ${show(key)}`)
      }
      // The good keys were good: the same call without the bad one works.
      assert.deepEqual(d.addMany(goodKeys, 1n), goodKeys.map(() => 0n))
      d.close()
      s.close()
    })
  }

  test('a bad delta or value at the last position, deltas of the wrong length, keys that are not an array', () => {
    for (const cfg of VALUES) {
      const d = new AtomicDict(16, cfg.opts)
      const s = new AtomicSet(16)
      d.storeMany([1n, 2n, 3n], [5, 6, 7])
      s.addMany([1n])
      const shape = SHAPES[0]
      const before = snapshot(shape, d)
      const keys = [1n, 2n, 3n, 4n, 5n]
      const ok = cfg.bits === 64 ? 1n : 1
      const badValues =
        cfg.bits === 64
          ? [[2n ** 64n, RangeError], [-(2n ** 63n) - 1n, RangeError], [2 ** 53, RangeError], [1.5, RangeError], [NaN, RangeError], ['1', TypeError], [undefined, TypeError], [null, TypeError]]
          : [[2 ** 32, RangeError], [-(2 ** 31) - 1, RangeError], [2n ** 32n, RangeError], [0.5, RangeError], [NaN, RangeError], ['1', TypeError], [undefined, TypeError], [{}, TypeError]]
      for (const [v, Class] of badValues) {
        const operands = [ok, ok, ok, ok, v]
        for (const [name, call] of [
          ['deltas', () => d.addMany(keys, operands)],
          ['values', () => d.storeMany(keys, operands)],
        ]) {
          assert.throws(call, (e) => {
            assert.equal(e.constructor, Class, `${cfg.name} ${name}[4] = ${show(v)}: ${e.message}`)
            assert.match(e.message, new RegExp(`^${name}\\[4\\] `), e.message)
            return true
          })
        }
        // One bad value for every key names the argument itself.
        assert.throws(() => d.addMany(keys, v), (e) => e.constructor === Class && /^deltas /.test(e.message))
        assert.throws(() => d.storeMany(keys, v), (e) => e.constructor === Class && /^values /.test(e.message))
        assert.deepEqual(snapshot(shape, d), before, `${cfg.name} after ${show(v)}`)
      }
      for (const operands of [[], [ok], [ok, ok, ok, ok], [ok, ok, ok, ok, ok, ok]]) {
        assert.throws(() => d.addMany(keys, operands), { name: 'RangeError', message: `deltas must have one value per key (5), got ${operands.length}` })
        assert.throws(() => d.storeMany(keys, operands), { name: 'RangeError', message: `values must have one value per key (5), got ${operands.length}` })
      }
      assert.throws(() => d.addMany([], [ok]), RangeError)
      for (const notArray of [1n, 'abc', null, undefined, new Set([1n]), { length: 1, 0: 1n }, new BigUint64Array([1n]), (function () { return arguments })(1n)]) {
        const what = /^keys must be an array of keys/
        assert.throws(() => d.getMany(notArray), { name: 'TypeError', message: what })
        assert.throws(() => d.loadMany(notArray), { name: 'TypeError', message: what })
        assert.throws(() => d.addMany(notArray, ok), { name: 'TypeError', message: what })
        assert.throws(() => d.addMany(notArray, [ok]), { name: 'TypeError', message: what })
        assert.throws(() => d.storeMany(notArray, ok), { name: 'TypeError', message: what })
        assert.throws(() => s.addMany(notArray), { name: 'TypeError', message: what })
      }
      assert.deepEqual(snapshot(shape, d), before)
      assert.deepEqual(s.size, 1)
      d.close()
      s.close()
    }
  })

  test('a sparse keys array: the hole is refused, naming it', () => {
    const d = new AtomicDict(16)
    // eslint-disable-next-line no-sparse-arrays
    assert.throws(() => d.addMany([1n, 2n, , 4n], 1n), { name: 'TypeError', message: /^keys\[2\] / })
    const keys = [1n]
    keys[10] = 2n
    assert.throws(() => d.storeMany(keys, 1n), { name: 'TypeError', message: /^keys\[1\] / })
    assert.equal(d.size, 0)
    d.close()
  })
})

// ------------------------------------------------------------- a full table

describe('a full table', () => {
  for (const shape of SHAPES) {
    test(`keys of ${shape.name}: N+1 new keys throw ERR_ATOMIC_DICT_FULL and no value changes`, () => {
      const opts = { k64: shape.k64, k32: shape.k32 }
      const N = 16
      const pool = keyPool(shape, 2 * N + 1, prng(21 + shape.k32))
      const held = pool.slice(0, 4)
      const fresh = pool.slice(4, 4 + N - 3) // one more than the 12 units left
      const d = new AtomicDict(N, opts)
      d.storeMany(held, [10n, 20n, 30n, 40n])
      for (const [method, call] of [
        ['addMany', () => d.addMany([...held, ...fresh], 1n)],
        ['addMany (deltas array)', () => d.addMany([...fresh, ...held], [...fresh, ...held].map(() => 5n))],
        ['storeMany', () => d.storeMany([...held, ...fresh], 99n)],
      ]) {
        assert.throws(call, (e) => {
          assert.equal(e.code, FULL, `${method}: ${e.message}`)
          assert.equal(e.name, 'AtomicDictFullError')
          assert.equal(e.capacity, N)
          return true
        })
        assert.ok(d.size <= N, `${method}: size ${d.size}`)
        // No value changed: the held keys as they were, the inserted ones 0.
        assert.deepEqual(d.getMany(held), [10n, 20n, 30n, 40n], method)
        for (const [k, v] of d) {
          if (!held.some((h) => canon(shape, h) === canon(shape, k))) assert.equal(v, 0n, `${method}: ${show(k)}`)
        }
        const r = d.verify()
        assert.equal(r.ok, true, JSON.stringify(r))
        assert.equal(r.partialRows, 0)
      }
      // Exactly N keys fit: the held ones and the first N-4 of fresh (and duplicates cost nothing).
      const fits = [...fresh.slice(0, N - 4), ...fresh.slice(0, N - 4), ...held]
      const before = d.getMany(fits).map((v) => v ?? 0n)
      assert.deepEqual(d.addMany(fits, 1n), fits.map((_, i) => before[i] + BigInt(i >= N - 4 && i < 2 * (N - 4) ? 1 : 0)))
      assert.equal(d.size, N)
      assert.throws(() => d.add(fresh[N - 4], 1n), { code: FULL })
      assert.throws(() => d.addMany([fresh[N - 4]], 1n), { code: FULL })
      assert.deepEqual(d.getMany([fresh[N - 4]]), [undefined], 'lookups on a full table are not FULL')
      assert.deepEqual(d.loadMany([fresh[N - 4]]), [0n])
      assert.equal(d.verify().ok, true)
      d.close()
    })
  }

  test('a set: N+1 new keys throw ERR_ATOMIC_DICT_FULL; exactly N fit, duplicates included', () => {
    const s = new AtomicSet(10)
    const keys = Array.from({ length: 11 }, (_, i) => BigInt(i + 1))
    assert.throws(() => s.addMany(keys), { code: FULL })
    assert.ok(s.size <= 10)
    assert.equal(s.verify().ok, true)
    const t = new AtomicSet(10)
    assert.deepEqual(t.addMany([...keys.slice(0, 10), ...keys.slice(0, 10)]), [...new Array(10).fill(true), ...new Array(10).fill(false)])
    assert.throws(() => t.addMany([keys[10]]), { code: FULL })
    assert.equal(t.add(keys[0]), false)
    assert.equal(t.size, 10)
    s.close()
    t.close()
  })

  test('a set: every key some call inserted is reported true to exactly one call, the one that ends full included', () => {
    // The outside review's case: addMany stops at the key that does not fit;
    // the keys before it stay inserted, so the error must say which this
    // call inserted, or no call ever reports them (claim-once users lose them).
    const s = new AtomicSet(4)
    const keys = [1n, 1n, 2n, 3n, 3n, 4n, 5n, 6n, 7n]
    const reported = new Map()
    const report = (k) => reported.set(k, (reported.get(k) ?? 0) + 1)
    assert.throws(() => s.addMany(keys), (e) => {
      assert.equal(e.code, FULL)
      assert.equal(e.done, 6, 'the keys before 5n were found or inserted')
      assert.deepEqual(e.inserted, [true, false, true, true, false, true])
      e.inserted.forEach((inserted, i) => inserted && report(keys[i]))
      return true
    })
    for (const k of keys) {
      try {
        if (s.add(k)) report(k)
      } catch (e) {
        assert.equal(e.code, FULL)
      }
    }
    assert.deepEqual([...s].sort(), [...reported.keys()].sort(), 'keys in the set no call reported as inserted')
    assert.ok([...reported.values()].every((n) => n === 1), 'each reported once')
    s.close()
  })

  test('a dict: the full error says how many keys were found or inserted before it, and none of their values changed', () => {
    const d = new AtomicDict(3)
    d.store(9n, 90n)
    assert.throws(() => d.addMany([9n, 1n, 2n, 3n, 1n], 5n), (e) => {
      assert.equal(e.code, FULL)
      assert.equal(e.done, 3)
      assert.deepEqual(e.inserted, [false, true, true])
      return true
    })
    assert.deepEqual(d.getMany([9n, 1n, 2n, 3n]), [90n, 0n, 0n, undefined])
    // A single call's full error has no bulk fields.
    assert.throws(() => d.add(3n, 1n), (e) => e.code === FULL && e.done === undefined && e.inserted === undefined)
    d.close()
  })

  test('an empty table of capacity N takes N new keys in one call', () => {
    for (const shape of SHAPES) {
      const opts = { k64: shape.k64, k32: shape.k32 }
      const pool = keyPool(shape, 100, prng(4))
      const d = new AtomicDict(100, opts)
      assert.deepEqual(d.addMany(pool, 1n), new Array(100).fill(0n))
      assert.equal(d.size, 100)
      assert.equal(d.verify().ok, true)
      d.close()
    }
  })
})

// ------------------------------------------- a process killed mid-call

/** Runs `code` in a child with `t` shared as 't' and ATOMIC_DICT_FAILPOINT=`failpoint`; resolves to its exit. */
function dieIn(t, failpoint, code) {
  const kind = t instanceof AtomicSet ? 'AtomicSet' : 'AtomicDict'
  const script = `const { ${kind} } = require(${JSON.stringify(ROOT)}); const t = ${kind}.inherit('t'); ${code}`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      share: { t },
      env: { ...process.env, ATOMIC_DICT_FAILPOINT: failpoint },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGTERM'), 20_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr })
    })
  })
}

test('a process killed in the middle of addMany (after a key part): the partial row is invisible to bulk calls, and completed by them', async () => {
  const d = new AtomicDict(16, { k64: 2, k32: 1 })
  d.store([9n, 9n, 9], 1n)
  const keys = [[5n, 6n, 7], [1n, 2n, 3], [4n, 4n, 4]]
  const r = await dieIn(d, 'after-part', `t.addMany(${show(keys).replace(/"(\d+)n"/g, '$1n')}, 5n)`)
  assert.equal(r.signal, 'SIGKILL', `exit ${r.code}: ${r.stderr}`)
  const audit = d.verify()
  assert.ok(audit.ok, JSON.stringify(audit))
  assert.equal(audit.partialRows, 1)
  assert.equal(d.size, 1)
  assert.deepEqual(d.getMany(keys), [undefined, undefined, undefined])
  assert.deepEqual(d.loadMany(keys), [0n, 0n, 0n])
  assert.deepEqual([...d.keys()], [[9n, 9n, 9]])
  // The same keys again: the partial row is completed, each key once.
  assert.deepEqual(d.addMany([...keys, keys[0]], 1n), [0n, 0n, 0n, 1n])
  const after = d.verify()
  assert.ok(after.ok, JSON.stringify(after))
  assert.deepEqual([after.entries, after.completeRows, after.partialRows], [4, 4, 0])
  assert.deepEqual(d.getMany(keys), [2n, 1n, 1n])
  d.close()

  const s = new AtomicSet(16, { k64: 0, k32: 2 })
  const setKeys = [[5, 6], [7, 8]]
  const rs = await dieIn(s, 'after-part', `t.addMany(${show(setKeys)})`)
  assert.equal(rs.signal, 'SIGKILL', `exit ${rs.code}: ${rs.stderr}`)
  assert.equal(s.verify().partialRows, 1)
  assert.deepEqual([s.has([5, 6]), s.has([7, 8]), s.size], [false, false, 0])
  assert.deepEqual(s.addMany([...setKeys, [5, 6]]), [true, true, false])
  assert.deepEqual([s.verify().ok, s.verify().partialRows, s.size], [true, 0, 2])
  s.close()
})

// ----------------------------------------------------------------- closed

test('every bulk call on a closed table throws ERR_ATOMIC_DICT_CLOSED, empty ones too; a twin keeps working', () => {
  for (const shape of SHAPES) {
    const opts = { k64: shape.k64, k32: shape.k32 }
    const [k] = keyPool(shape, 1, prng(8))
    const d = new AtomicDict(8, opts)
    const s = new AtomicSet(8, opts)
    d.addMany([k], 1n)
    const twin = AtomicDict.attach(d.share())
    d.close()
    s.close()
    const calls = {
      getMany: () => d.getMany([k]),
      loadMany: () => d.loadMany([k]),
      addMany: () => d.addMany([k], 1n),
      storeMany: () => d.storeMany([k], [1n]),
      'getMany([])': () => d.getMany([]),
      'loadMany([])': () => d.loadMany([]),
      'addMany([])': () => d.addMany([], 1n),
      'storeMany([])': () => d.storeMany([], []),
      'set.addMany': () => s.addMany([k]),
      'set.addMany([])': () => s.addMany([]),
    }
    for (const [name, call] of Object.entries(calls)) {
      assert.throws(call, (e) => {
        assert.equal(e.code, CLOSED, `${name}: ${e.message}`)
        return true
      })
    }
    assert.deepEqual(twin.addMany([k], 1n), [1n])
    twin.close()
  }
})

// ------------------------------------------------ getters that call back in

describe('reentrancy: a key getter that calls the same dict in the middle of a bulk call', () => {
  /** `keys` with a getter at index `i` that runs `during` and returns `key`. */
  function withGetter(keys, i, key, during) {
    const out = keys.slice()
    Object.defineProperty(out, i, { get: () => (during(), key), enumerable: true, configurable: true })
    return out
  }

  for (const shape of SHAPES) {
    test(`keys of ${shape.name}: add, addMany, getMany and set calls from a getter`, () => {
      const opts = { k64: shape.k64, k32: shape.k32 }
      const pool = keyPool(shape, 60, prng(13 + shape.k64 + shape.k32))
      const [a, b, c] = pool
      const big = pool.slice(3) // bigger than the words a call starts with
      const d = new AtomicDict(128, opts)
      let inner
      const keys = withGetter([a, b, c], 1, b, () => {
        inner = d.addMany([a, c, c], [10n, 20n, 30n])
        assert.equal(d.add(c, 100n), 50n)
      })
      // The getter ran before the outer call changed anything: the outer's values before reflect the inner calls.
      assert.deepEqual(d.addMany(keys, [1n, 2n, 3n]), [10n, 0n, 150n])
      assert.deepEqual(inner, [0n, 0n, 20n])
      assert.deepEqual(d.getMany([a, b, c]), [11n, 2n, 153n])

      // A nested call bigger than the outer one, a single call of a composite key, and a nested getter.
      let nested
      const innerKeys = withGetter(big, big.length - 1, big[big.length - 1], () => {
        nested = d.getMany([a, b, c])
      })
      const outer = withGetter([c, b, a, b], 3, b, () => {
        assert.deepEqual(d.addMany(innerKeys, 1n), new Array(big.length).fill(0n))
        d.store(a, 1000n)
      })
      assert.deepEqual(d.addMany(outer, 1n), [153n, 2n, 1000n, 3n])
      assert.deepEqual(nested, [11n, 2n, 153n])
      assert.deepEqual(d.loadMany([a, b, c]), [1001n, 4n, 154n])
      assert.deepEqual(d.getMany(big), new Array(big.length).fill(1n))

      // The same for getMany, storeMany and a set.
      const read = withGetter([a, b], 0, a, () => d.storeMany([a, b], [7n, 8n]))
      assert.deepEqual(d.getMany(read), [7n, 8n])
      const store = withGetter([a, b, c], 2, c, () => d.addMany([a, b, c], 1n))
      d.storeMany(store, [1n, 2n, 3n])
      assert.deepEqual(d.getMany([a, b, c]), [1n, 2n, 3n])
      const s = new AtomicSet(128, opts)
      let innerSet
      const setKeys = withGetter([a, b, c, a], 2, c, () => {
        innerSet = s.addMany([c, ...big])
        assert.equal(s.add(b), true)
      })
      assert.deepEqual(s.addMany(setKeys), [true, false, false, false])
      assert.deepEqual(innerSet, new Array(big.length + 1).fill(true))
      assert.equal(s.size, big.length + 3)
      assert.equal(d.size, 3 + big.length)
      assert.equal(d.verify().ok, true)
      assert.equal(s.verify().ok, true)
      d.close()
      s.close()
    })
  }

  test('a key getter that closes the table before the last key: ERR_ATOMIC_DICT_CLOSED, and nothing changed', () => {
    // The getter runs while the call reads its keys; closing there must end
    // the call with the closed error (not an internal TypeError), having
    // changed nothing.
    for (const shape of SHAPES) {
      const opts = { k64: shape.k64, k32: shape.k32 }
      const [a, b, c] = keyPool(shape, 3, prng(17))
      for (const method of ['getMany', 'loadMany', 'addMany', 'storeMany', 'set.addMany']) {
        const t = method === 'set.addMany' ? new AtomicSet(8, opts) : new AtomicDict(8, opts)
        const Kind = method === 'set.addMany' ? AtomicSet : AtomicDict
        const twin = Kind.attach(t.share())
        if (t instanceof AtomicDict) t.store(a, 5n)
        else t.add(a)
        const keys = [a, b, c]
        Object.defineProperty(keys, 1, { get: () => (t.close(), b) })
        const call = method === 'set.addMany' ? () => t.addMany(keys) : () => t[method](keys, 1n)
        assert.throws(call, (e) => {
          assert.equal(e.code, CLOSED, `${shape.name} ${method}: ${e.constructor.name}: ${e.message}`)
          return true
        })
        assert.equal(twin.size, 1, `${shape.name} ${method}`)
        if (twin instanceof AtomicDict) assert.deepEqual(twin.getMany([a, b, c]), [5n, undefined, undefined])
        else assert.deepEqual([twin.has(a), twin.has(b), twin.has(c)], [true, false, false])
        twin.close()
      }
    }
  })

  test('a delta getter that adds a key to the keys array: the call is refused before anything changes', () => {
    // addMany reads keys.length, checks the deltas (running the getter),
    // then reads keys again: every key and delta must still be checked
    // before anything changes.
    for (const cfg of VALUES) {
      const one = cfg.bits === 64 ? 1n : 1
      for (const method of ['addMany', 'storeMany']) {
        const d = new AtomicDict(8, cfg.opts)
        d.store(1n, 5)
        const keys = [1n, 2n]
        const operands = [one, one]
        Object.defineProperty(operands, 1, { get: () => (keys.push(3n), one) })
        let result
        try {
          result = { value: d[method](keys, operands) }
        } catch (e) {
          result = { error: e }
        }
        if (result.error) {
          // Refused: a RangeError about the count, and nothing changed.
          assert.equal(result.error.constructor, RangeError, `${cfg.name} ${method}: ${result.error.constructor.name}: ${result.error.message}`)
          assert.deepEqual(contents(SHAPES[0], d), [['1', cfg.bits === 64 ? 5n : 5]], `${cfg.name} ${method} changed the table before throwing`)
        } else {
          // Or done on the two keys checked with their deltas, not a third with none.
          assert.equal(d.size, 2, `${cfg.name} ${method}: took ${show(keys)} with ${operands.length} values`)
          const v = (x) => (cfg.bits === 64 ? BigInt(x) : x)
          assert.deepEqual(d.getMany([1n, 2n]), method === 'addMany' ? [v(6), v(1)] : [v(1), v(1)])
        }
        d.close()
      }
    }
  })
})

// ------------------------------------------------------- several processes

test('several processes at once: exact sums, each set key inserted once, verify ok', async () => {
  const CHILDREN = 3
  const d = new AtomicDict(participant.DICT_KEYS)
  const s = new AtomicSet(participant.SET_KEYS)
  const ctl = new AtomicDict(4)
  const share = { d, s, ctl }
  const children = Array.from({ length: CHILDREN }, (_, i) => forked(CHILD, { id: i + 1 }, share))
  const results = children.map((c) => c.next((m) => m.changes))
  results.forEach((p) => p.catch(() => {})) // awaited below
  const giveUp = Date.now() + 20_000
  while (ctl.load(participant.READY) !== BigInt(CHILDREN)) {
    if (Date.now() > giveUp) throw new Error('the children did not get ready')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  ctl.store(participant.GO, 1n)
  const mine = participant.run(0, d, s)
  const all = [mine, ...(await Promise.all(results))]
  for (const c of children) assert.deepEqual(await c.exited.then(({ code, signal }) => [code, signal]), [0, null])

  // The runs overlapped: each started before some other one ended.
  const overlapping = all.filter((r) => all.some((o) => o !== r && r.start < o.end && o.start < r.end))
  assert.ok(overlapping.length >= 2, `runs: ${show(all.map((r) => [r.start, r.end]))}`)

  // Every participant did its plan: the changes it reports are its plan's, in order.
  const totals = new Array(participant.DICT_KEYS).fill(0)
  const chains = Array.from({ length: participant.DICT_KEYS }, () => [])
  for (const r of all) {
    const planned = []
    for (const o of participant.plan(r.id)) {
      if (o.op === 'addMany') o.keys.forEach((k, i) => planned.push(k, Array.isArray(o.deltas) ? o.deltas[i] : o.deltas))
      else if (o.op === 'add') planned.push(o.key, o.delta)
    }
    assert.equal(r.changes.length / 3, planned.length / 2, `participant ${r.id}'s changes`)
    for (let i = 0; i < r.changes.length; i += 3) {
      const [k, delta, before] = r.changes.slice(i, i + 3)
      assert.equal(k, planned[(i / 3) * 2])
      assert.equal(delta, planned[(i / 3) * 2 + 1])
      totals[k] += delta
      chains[k].push([before, delta])
    }
  }
  // Exact sums, and every change atomic: a key's values before, sorted, go
  // from 0 up in steps of the deltas (no value before seen twice, none lost).
  const values = d.getMany(Array.from({ length: participant.DICT_KEYS }, (_, i) => participant.dictKey(i, 0)))
  for (let k = 0; k < participant.DICT_KEYS; k++) {
    assert.equal(values[k], BigInt(totals[k]), `key ${k}`)
    const chain = chains[k].sort((x, y) => x[0] - y[0])
    let at = 0
    for (const [before, delta] of chain) {
      assert.equal(before, at, `key ${k}: a value before out of sequence`)
      at += delta
    }
    assert.equal(at, totals[k])
  }
  assert.equal(d.size, participant.DICT_KEYS)

  // Every set key inserted exactly once, across all processes.
  const count = new Array(participant.SET_KEYS).fill(0)
  for (const r of all) for (const j of r.inserted) count[j]++
  const wrong = count.map((n, j) => [j, n]).filter(([, n]) => n !== 1)
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} set keys not inserted exactly once`)
  assert.equal(s.size, participant.SET_KEYS)
  const dv = d.verify()
  const sv = s.verify()
  assert.equal(dv.ok, true, JSON.stringify(dv))
  assert.equal(sv.ok, true, JSON.stringify(sv))
  for (const t of [d, s, ctl]) t.close()
})

// ------------------------------------------- huge and odd arguments (second review)

describe('huge and odd arguments', () => {
  // In a child: the old code aborted the process (V8 out of memory) or threw
  // a bare RangeError before it read a single key.
  const inChild = (body) => {
    const src = `const { AtomicDict } = require(${JSON.stringify(ROOT)}); const d = new AtomicDict(16);
try { ${body}; console.log('NO-THROW') } catch (e) { console.log(e.constructor.name + ': ' + e.message) }`
    return require('node:child_process').spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', timeout: 60_000 })
  }
  for (const [name, body] of [
    ['addMany, one delta for all', 'const a = []; a[2 ** 28] = 1; d.addMany(a, 1n)'],
    ['storeMany, one value for all', 'const a = []; a[2 ** 28] = 1; d.storeMany(a, 1n)'],
    ['getMany, length 2^31 + 1', 'const a = []; a[2 ** 31] = 1; d.getMany(a)'],
    ['getMany, length 2^32 - 1', 'const a = []; a[2 ** 32 - 2] = 1; d.getMany(a)'],
  ]) {
    test(`${name}: a hole at keys[0] gives its TypeError, and the process lives`, () => {
      const r = inChild(body)
      assert.equal(r.status, 0, `the child died (signal ${r.signal}): ${r.stderr.split('\n').slice(0, 3).join(' ')}`)
      assert.match(r.stdout, /^TypeError: keys\[0\] must be/)
    })
  }

  test('a typed array of deltas is refused by name, not taken for one value', () => {
    const d = new AtomicDict(16)
    assert.throws(() => d.addMany([1n, 2n], new BigInt64Array([1n, 2n])), { name: 'TypeError', message: /^deltas must be an Array of 2 values, or one value/ })
    assert.equal(d.size, 0)
    d.close()
  })

  test('a call longer than the first scratch (4096 keys) grows it and keeps every key', () => {
    const d = new AtomicDict(20_000)
    const keys = Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? BigInt(i + 1) : i + 1))
    assert.deepEqual(d.addMany(keys, 2n), new Array(10_000).fill(0n))
    assert.deepEqual(d.getMany(keys), new Array(10_000).fill(2n))
    assert.equal(d.size, 10_000)
    d.close()
  })
})
