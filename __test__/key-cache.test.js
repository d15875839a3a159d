'use strict'
// The per-process key caches (lib/key-cache.js, lib/parts-cache.js) must never
// give a wrong slot: not for another key that looks alike (5, 5n, '5'; the
// same low bits; strings alike in the characters the cache hashes), not for
// an invalid key next to a cached valid one, not for arrays that are not
// plain (holes, Proxies, subclasses). Every answer is compared with a cold
// twin (a second object over the same table) or with getMany, which bypass
// this object's caches. Then: keys inserted by another process, every method
// after close(), and iteration (forms, dense and sparse tables, liveness).

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { AtomicDict, AtomicSet, stringKey } = require('..')
const { partsCache } = require('../lib/parts-cache')
const { forked } = require('./fixtures/forked')
const { encode } = require('./fixtures/key-cache-child')

const CHILD = path.join(__dirname, 'fixtures', 'key-cache-child.js')
const CLOSED = 'ERR_ATOMIC_DICT_CLOSED'
const BATCH = 128 // keys an iteration reads from the core per call (lib/key-cache.js)

function show(x) {
  try {
    return JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))
  } catch {
    return Object.prototype.toString.call(x)
  }
}

const { prng } = require('./fixtures/prng')

/** The model's name for a key: its parts' values (a string's is its stringKey). */
function canon(key) {
  return (Array.isArray(key) ? [...key] : [key]).map((p) => (typeof p === 'string' ? stringKey(p) : BigInt(p))).join(',')
}

/** `fn` throws `Class` (exactly) with a message matching `message`. */
function throwsExactly(fn, Class, message, what) {
  assert.throws(fn, (e) => {
    assert.equal(e.constructor, Class, `${what}: ${e.constructor.name}: ${e.message}`)
    if (message) assert.match(e.message, message, what)
    return true
  })
}

/** Every single-key method of a dict on `key`, each of which must throw `Class`; the table unchanged. */
function refusedEverywhere(d, key, Class, message) {
  const size = d.size
  const what = show(key)
  throwsExactly(() => d.get(key), Class, message, `get(${what})`)
  throwsExactly(() => d.has(key), Class, message, `has(${what})`)
  throwsExactly(() => d.load(key), Class, message, `load(${what})`)
  throwsExactly(() => d.add(key, 1n), Class, message, `add(${what})`)
  throwsExactly(() => d.store(key, 1n), Class, message, `store(${what})`)
  throwsExactly(() => d.cas(key, 0n, 1n), Class, message, `cas(${what})`)
  throwsExactly(() => d.slot(key), Class, message, `slot(${what})`)
  throwsExactly(() => d.notify(key), Class, message, `notify(${what})`)
  throwsExactly(() => d.getMany([key]), Class, /^keys\[0\]/, `getMany([${what}])`)
  assert.equal(d.size, size, `${what} inserted nothing`)
}

// ------------------------------------------------------- keys as arrays

describe('keys given as arrays (the parts cache, compared with ===)', () => {
  test('5, 5n and "5" as a 64-bit part: 5 and 5n are one key, "5" another, in every order, warm or cold', () => {
    const d = new AtomicDict(64, { k64: 1, k32: 1 })
    const twin = AtomicDict.attach(d.share())
    assert.equal(d.add([5, 1], 1n), 0n)
    assert.equal(d.add([5n, 1], 1n), 1n)
    assert.equal(d.add(['5', 1], 10n), 0n)
    assert.equal(d.add([5n, 1n], 1n), 2n)
    assert.equal(d.add(['5', 1n], 10n), 10n)
    assert.equal(d.size, 2)
    for (const t of [d, twin]) {
      assert.equal(t.get([5, 1]), 3n)
      assert.equal(t.get([5n, 1n]), 3n)
      assert.equal(t.get(['5', 1]), 20n)
      assert.equal(t.get([stringKey('5'), 1]), 20n, "'5' is its stringKey")
      assert.equal(t.get([6, 1]), undefined)
      assert.equal(t.get([5, 2]), undefined)
      assert.equal(t.get([1, 5]), undefined, 'the parts in the other order are another key')
    }
    assert.deepEqual(d.getMany([[5, 1], [5n, 1], ['5', 1]]), [3n, 3n, 20n])
    // The same on a one-part table given as arrays, and bare.
    const one = new AtomicDict(64)
    one.add([5], 1n)
    one.add(5n, 1n)
    one.add(['5'], 100n)
    one.add([5n], 1n)
    assert.deepEqual([one.get(5), one.get([5]), one.get('5'), one.get(['5']), one.get(stringKey('5'))], [3n, 3n, 100n, 100n, 100n])
    assert.equal(one.size, 2)
    // And a composite table of 32-bit parts: 5 and 5n one key.
    const narrow = new AtomicDict(64, { k64: 0, k32: 2 })
    narrow.add([5, 5], 1n)
    narrow.add([5n, 5], 1n)
    narrow.add([5, 5n], 1n)
    assert.deepEqual([narrow.get([5n, 5n]), narrow.size], [3n, 1])
    for (const t of [d, twin, one, narrow]) t.close()
  })

  test('a string part loosely equal (==) to a cached number or bigint part, in the same cache set, is another key', () => {
    // ' 0023 ' == 23 and == 23n: found (by the cache's own index) where the
    // cache puts them in the same set as [23, 1], so only === tells them apart.
    const cache = partsCache(2, 1 << 14)
    const pairs = []
    for (let x = 1; x < 5000 && pairs.length < 6; x++) {
      const part = pairs.length % 2 ? BigInt(x) : x
      const want = cache.index([part, 1])
      for (let a = 0; a < 12 && pairs.length < 6; a++) {
        for (let b = 0; b < 12; b++) {
          const str = ' '.repeat(a) + x + ' '.repeat(b)
          // eslint-disable-next-line eqeqeq
          if (cache.index([str, 1]) === want && str == part) {
            pairs.push([part, str])
            break
          }
        }
      }
    }
    assert.equal(pairs.length, 6, 'found loosely equal parts in one cache set')
    for (const [cachedFirst, [part, str]] of pairs.map((p, i) => [i % 4 < 2, p])) {
      const d = new AtomicDict(8192, { k64: 1, k32: 1 })
      const [first, second] = cachedFirst ? [[part, 1], [str, 1]] : [[str, 1], [part, 1]]
      assert.equal(d.add(first, 1n), 0n)
      assert.equal(d.add(second, 10n), 0n, `${show(second)} after ${show(first)}`)
      assert.equal(d.get(first), 1n)
      assert.equal(d.get(second), 10n)
      assert.equal(d.size, 2)
      assert.deepEqual(d.getMany([[part, 1], [str, 1], [stringKey(str), 1]]), [first[0] === part ? 1n : 10n, first[0] === str ? 1n : 10n, first[0] === str ? 1n : 10n])
      d.close()
    }
  })

  test('a cached key never answers for an invalid one next to it: [1, 2] then [1, 2.5] throws', () => {
    const d = new AtomicDict(64, { k64: 1, k32: 1 })
    d.store([1n, 2], 7n)
    d.store([2 ** 53 - 1, 2], 8n)
    d.store([1, 2 ** 32 - 1], 9n)
    // Every one of these next to the cached keys (and their low bits alike).
    const bad = [
      [[1n, 2.5], RangeError, /key\[1\]/],
      [[1n, 2 + 2 ** -50], RangeError, /key\[1\]/],
      [[1n, '2'], TypeError, /key\[1\]/],
      [[1n, 2 + 2 ** 32], RangeError, /key\[1\]/],
      [[1n, 2 ** 32], RangeError, /key\[1\]/],
      [[1n, 2n ** 32n + 2n], RangeError, /key\[1\]/],
      [[1n, -2], RangeError, /key\[1\]/],
      [[1n, -0], RangeError, /key\[1\]/],
      [[1n, 0], RangeError, /key\[1\]/],
      [[1n, NaN], RangeError, /key\[1\]/],
      [[1n, Infinity], RangeError, /key\[1\]/],
      [[1n, null], TypeError, /key\[1\]/],
      [[1n, [2]], TypeError, /key\[1\]/],
      [[1n, { valueOf: () => 2 }], TypeError, /key\[1\]/],
      [[1n, Object(2)], TypeError, /key\[1\]/],
      [[1.5, 2], RangeError, /key\[0\]/],
      [[-0, 2], RangeError, /key\[0\]/],
      [[NaN, 2], RangeError, /key\[0\]/],
      [[Infinity, 2], RangeError, /key\[0\]/],
      [[-Infinity, 2], RangeError, /key\[0\]/],
      [[2 ** 53, 2], RangeError, /key\[0\]/],
      [[2 ** 53 + 2, 2], RangeError, /key\[0\]/],
      [[2 ** 64, 2], RangeError, /key\[0\]/],
      [[2n ** 64n + 1n, 2], RangeError, /key\[0\]/],
      [[-1n, 2], RangeError, /key\[0\]/],
      [['\uD800', 2], TypeError, /surrogate/],
      [[1n, 2, 3], RangeError, /2 parts, got 3/],
      [[1n], RangeError, /2 parts, got 1/],
      [[], RangeError, /2 parts, got 0/],
      // eslint-disable-next-line no-sparse-arrays
      [[1n, ,], TypeError, /key\[1\]/],
      // eslint-disable-next-line no-sparse-arrays
      [[, 2], TypeError, /key\[0\]/],
      [1n, TypeError, /array of 2 parts/],
      [{ 0: 1n, 1: 2, length: 2 }, TypeError, /array of 2 parts/],
    ]
    for (const [key, Class, message] of bad) refusedEverywhere(d, key, Class, message)
    assert.equal(d.size, 3)
    assert.deepEqual([d.get([1n, 2]), d.get([1, 2n]), d.get([2 ** 53 - 1, 2]), d.get([1n, 2 ** 32 - 1])], [7n, 7n, 8n, 9n])
    // The same keys, cached this time as the bad ones' valid neighbours in
    // a set, whose add answers from the cache.
    const s = new AtomicSet(16, { k64: 1, k32: 1 })
    assert.equal(s.add([1n, 2]), true)
    assert.equal(s.add([1n, 2]), false)
    for (const [key, Class] of bad) {
      assert.throws(() => s.add(key), Class, `set.add(${show(key)})`)
      assert.throws(() => s.has(key), Class, `set.has(${show(key)})`)
    }
    assert.equal(s.size, 1)
    d.close()
    s.close()
  })

  test('empty cache entries never match: [0, 0], [-0, -0] next to valid keys of their cache set', () => {
    // An empty entry holds parts 0: keys found to share its set are cached
    // (twice over, so that the set's two entries are both filled and moved).
    const cache = partsCache(2, 1 << 14)
    const zero = cache.index([0, 0])
    const near = []
    for (let x = 1; near.length < 3; x++) if (cache.index([x, 1]) === zero) near.push([x, 1])
    for (const capacity of [8, 8192]) {
      const d = new AtomicDict(capacity, { k64: 1, k32: 1 })
      refusedEverywhere(d, [0, 0], RangeError, /key\[0\]/)
      for (const k of near) d.add(k, 1n)
      for (const k of near) d.add(k, 1n)
      for (const key of [[0, 0], [-0, 0], [0, -0], [-0, -0], [0n, 0], [0, 0n], [0n, 0n]]) refusedEverywhere(d, key, RangeError, /key\[0\]/)
      assert.deepEqual(d.getMany(near), [2n, 2n, 2n])
      d.close()
    }
    const s = new AtomicSet(8192, { k64: 1, k32: 1 })
    for (const k of near) s.add(k)
    assert.throws(() => s.add([0, 0]), RangeError)
    assert.throws(() => s.add([-0, -0]), RangeError)
    assert.equal(s.size, 3)
    s.close()
  })

  test('the same array object with its parts changed in place is looked up by its new parts', () => {
    const d = new AtomicDict(16, { k64: 1, k32: 1 })
    const key = [1n, 2]
    d.add(key, 1n)
    key[1] = 3
    d.add(key, 10n)
    key[1] = 2.5
    assert.throws(() => d.add(key, 1n), RangeError)
    key[1] = 2
    assert.equal(d.add(key, 1n), 1n)
    assert.deepEqual(d.getMany([[1n, 2], [1n, 3]]), [2n, 10n])
    d.close()
  })

  test('a Proxy over an array is the key its elements are, read at each call', () => {
    const d = new AtomicDict(16, { k64: 1, k32: 1 })
    const target = [4n, 4]
    const p = new Proxy(target, {})
    assert.equal(d.add(p, 1n), 0n)
    assert.equal(d.add([4n, 4], 1n), 1n)
    target[1] = 5
    assert.equal(d.add(p, 1n), 0n, 'the Proxy now stands for [4n, 5]')
    assert.deepEqual(d.getMany([[4n, 4], [4n, 5]]), [2n, 1n])
    // A Proxy whose get trap answers differently: the key is what it answers.
    const shifted = new Proxy([9n, 9], { get: (t, k, r) => (k === '1' ? 6 : Reflect.get(t, k, r)) })
    assert.equal(d.add(shifted, 1n), 0n)
    assert.equal(d.get([9n, 6]), 1n)
    assert.equal(d.get([9n, 9]), undefined)
    assert.equal(d.add(shifted, 1n), 1n)
    assert.equal(d.size, 3)
    d.close()
  })

  test('an array subclass is the key its elements are', () => {
    class Key extends Array {}
    const d = new AtomicDict(16, { k64: 1, k32: 1 })
    const k = Key.from([3n, 3])
    assert.ok(Array.isArray(k))
    assert.equal(d.add(k, 1n), 0n)
    assert.equal(d.add(Key.of(3n, 3), 1n), 1n)
    assert.equal(d.get([3n, 3]), 2n)
    assert.deepEqual(d.addMany([k], 1n), [2n])
    d.close()
  })

  test('an array subclass with its own slice() is still the key its elements are', () => {
    // A tuple class whose slice() returns something else (here: always its
    // first pair) must not make a key's call land on another key's row.
    class Tuple extends Array {
      slice() {
        return [1n, 2]
      }
    }
    const d = new AtomicDict(16, { k64: 1, k32: 1 })
    const k = Tuple.from([1n, 3])
    assert.equal(d.add(k, 5n), 0n)
    assert.deepEqual(d.getMany([[1n, 3], [1n, 2]]), [5n, undefined], 'add(Tuple [1n, 3]) must change [1n, 3] and only it')
    assert.equal(d.get(k), 5n)
    d.close()
  })

  test('a frozen array subclass (an immutable key class) is a key for single calls as for bulk ones', () => {
    class FrozenKey extends Array {
      constructor(a, b) {
        super()
        this.push(a, b)
        Object.freeze(this)
      }
    }
    class CheckedKey extends Array {
      constructor(...parts) {
        if (parts.length !== 2) throw new Error('a CheckedKey has two parts')
        super(...parts)
      }
    }
    const got = {}
    for (const make of [(a, b) => new FrozenKey(a, b), (a, b) => new CheckedKey(a, b)]) {
      const d = new AtomicDict(16, { k64: 1, k32: 1 })
      const k = make(1n, 3)
      assert.deepEqual(d.addMany([k], 1n), [0n], 'bulk calls take it')
      const single = []
      for (const call of [() => d.add(k, 1n), () => d.get(make(1n, 3)), () => d.has(k)]) {
        try {
          single.push(call())
        } catch (e) {
          single.push(`${e.constructor.name}: ${e.message}`)
        }
      }
      got[k.constructor.name] = single
      d.close()
    }
    assert.deepEqual(got, { FrozenKey: [1n, 2n, true], CheckedKey: [1n, 2n, true] })
  })

  test('an array subclass whose species makes arrays that lie cannot put an unchecked key in the cache', () => {
    // slice() of a subclass makes its result with Symbol.species: here a
    // Proxy whose second element reads 2 once, then 2.5. Whatever the call
    // reads, [7n, 2.5] must never be found: it is not a key.
    let reads = 0
    class Lying extends Array {
      static get [Symbol.species]() {
        return function (n) {
          return new Proxy(new Array(n), { get: (t, k, r) => (k === '1' && reads++ > 0 ? 2.5 : Reflect.get(t, k, r)) })
        }
      }
    }
    const d = new AtomicDict(16, { k64: 1, k32: 1 })
    try {
      d.add(Lying.from([7n, 2]), 10n)
    } catch {
      // Refusing it is fine too.
    }
    assert.throws(() => d.get([7n, 2.5]), RangeError, 'the cache answered for [7n, 2.5]')
    assert.throws(() => d.add([7n, 2.5], 1n), RangeError)
    d.close()
  })

  test('a key getter that caches another key of the same cache set mid-lookup does not get that key\'s row', () => {
    // Three keys of one cache set (found by the cache's own index):
    // [1, a] cached, then a lookup of [1, b] whose first element's getter,
    // on its second read (the cache compares it with the cached entry),
    // caches [c, b]: the entry then compared holds [1, a]'s first part and
    // [c, b]'s second. The lookup must still answer for [1, b] alone.
    const cache = partsCache(2, 1 << 14)
    const seen = new Map()
    let a, b, set
    for (let y = 1; b === undefined; y++) {
      const i = cache.index([1, y])
      if (seen.has(i)) [a, b, set] = [seen.get(i), y, i]
      else seen.set(i, y)
    }
    let c = 2
    while (cache.index([c, b]) !== set) c++
    const results = {}
    for (const method of ['get', 'add', 'has']) {
      const d = new AtomicDict(8192, { k64: 1, k32: 1 })
      const twin = AtomicDict.attach(d.share())
      d.add([1, a], 100n)
      let reads = 0
      const key = [1, b]
      Object.defineProperty(key, 0, {
        get: () => {
          if (++reads === 2) d.add([c, b], 1000n)
          return 1
        },
      })
      results[method] = method === 'add' ? d.add(key, 1n) : d[method](key)
      results[`${method}: [c, b] after`] = twin.get([c, b])
      results[`${method}: [1, b] after`] = twin.get([1, b])
      d.close()
      twin.close()
    }
    assert.deepEqual(results, {
      get: undefined,
      'get: [c, b] after': 1000n,
      'get: [1, b] after': undefined,
      add: 0n,
      'add: [c, b] after': 1000n,
      'add: [1, b] after': 1n,
      has: false,
      'has: [c, b] after': 1000n,
      'has: [1, b] after': undefined,
    })
  })

  test('string parts that collide in the cache hash each get their own row', () => {
    // partHash reads a string's length and its first and last characters:
    // these 12-character strings agree there and differ elsewhere.
    const N = 600
    const strings = Array.from({ length: N }, (_, i) => `u${i.toString(36).padStart(5, '0')}m00q0z`)
    const cache = partsCache(2, 1 << 14)
    const index = cache.index([strings[0], 1])
    for (const s of strings) {
      assert.equal(s.length, 12)
      assert.equal(cache.index([s, 1]), index, `${s} collides`)
    }
    const d = new AtomicDict(2 * N, { k64: 1, k32: 1 })
    const twin = AtomicDict.attach(d.share())
    const next = prng(42)
    const model = new Map()
    for (let round = 0; round < 6 * N; round++) {
      const i = Math.floor(next() * N)
      const key = [strings[i], 1]
      if (next() < 0.5) {
        const before = model.get(i) ?? 0n
        assert.equal(d.add(key, BigInt(i + 1)), before, `add(${show(key)})`)
        model.set(i, before + BigInt(i + 1))
      } else {
        assert.equal(d.get(key), model.get(i), `get(${show(key)})`)
      }
    }
    assert.equal(d.size, model.size)
    const keys = strings.map((s) => [s, 1])
    const want = strings.map((_, i) => model.get(i))
    assert.deepEqual(d.getMany(keys), want)
    assert.deepEqual(keys.map((k) => twin.get(k)), want, 'a cold twin agrees')
    assert.deepEqual(keys.map((k) => d.get(k)), want)
    // The same strings as bare one-part keys (the strings Map) and in a set.
    const one = new AtomicDict(2 * N)
    const s = new AtomicSet(2 * N, { k64: 1, k32: 1 })
    strings.forEach((str, i) => one.add(str, BigInt(i)))
    strings.forEach((str, i) => assert.equal(one.get([str]), BigInt(i)))
    for (let i = 0; i < N; i += 2) assert.equal(s.add([strings[i], 1]), true)
    for (let i = 0; i < N; i++) assert.equal(s.add([strings[i], 1]), i % 2 === 1, strings[i])
    for (const t of [d, twin, one, s]) t.close()
  })

  test('number and bigint parts that collide in the cache hash each get their own row', () => {
    // Keys found (by brute force over the cache's own index) to share a set
    // of the cache this table's objects make (16 Ki entries at most).
    const cache = partsCache(2, 1 << 14)
    const next = prng(7)
    const target = cache.index([12345, 6])
    const colliding = []
    while (colliding.length < 200) {
      const r = next()
      const wide = r < 0.5 ? 1 + Math.floor(next() * 2 ** 40) : BigInt.asUintN(64, BigInt(Math.floor(next() * 2 ** 53)) << 11n) | 1n
      const key = [wide, 1 + Math.floor(next() * 64)]
      if (cache.index(key) === target) colliding.push(key)
    }
    const d = new AtomicDict(1024, { k64: 1, k32: 1 })
    const twin = AtomicDict.attach(d.share())
    const model = new Map()
    for (let round = 0; round < 3; round++) {
      colliding.forEach((k, i) => {
        const before = model.get(canon(k)) ?? 0n
        assert.equal(d.add(k, BigInt(i + 1)), before, show(k))
        model.set(canon(k), before + BigInt(i + 1))
      })
    }
    const want = colliding.map((k) => model.get(canon(k)))
    assert.equal(d.size, model.size)
    assert.deepEqual(colliding.map((k) => d.get(k)), want)
    assert.deepEqual(colliding.map((k) => twin.get(k)), want, 'a cold twin agrees')
    assert.deepEqual(d.getMany(colliding), want)
    // The other form of each part (number <-> bigint) is the same key.
    const other = colliding.map(([a, b]) => [typeof a === 'bigint' && a <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a) : BigInt(a), BigInt(b)])
    assert.deepEqual(other.map((k) => d.get(k)), want)
    d.close()
    twin.close()
  })
})

// ---------------------------------------------------- one-part keys

describe('one-part keys (the direct-mapped cache)', () => {
  test('64-bit: keys sharing their low bits, numbers and bigints above 2^32 and 2^53', () => {
    const d = new AtomicDict(1000)
    const twin = AtomicDict.attach(d.share())
    // The same low 32 bits (the cache's index) and different high halves;
    // the same low 11 bits; numbers up to 2^53 - 1, bigints beyond.
    const keys = []
    for (let j = 0; j < 100; j++) keys.push(7 + j * 2 ** 32)
    for (let j = 1; j < 100; j++) keys.push(7 + j * 2048)
    for (const j of [2n ** 21n - 1n, 2n ** 21n, 2n ** 21n + 1n, 2n ** 31n, 2n ** 32n - 1n]) keys.push(7n + j * 2n ** 32n)
    keys.push(2 ** 53 - 1, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 63n + 7n)
    const model = new Map()
    const next = prng(3)
    for (let round = 0; round < 8 * keys.length; round++) {
      const k = keys[Math.floor(next() * keys.length)]
      // Either form of the key, when it has both.
      const safe = BigInt(k) <= BigInt(Number.MAX_SAFE_INTEGER)
      const given = next() < 0.5 ? BigInt(k) : safe ? Number(k) : BigInt(k)
      const c = canon(k)
      if (next() < 0.6) {
        const before = model.get(c) ?? 0n
        assert.equal(d.add(given, 1n), before, `add(${show(given)})`)
        model.set(c, before + 1n)
      } else {
        assert.equal(d.get(given), model.get(c), `get(${show(given)})`)
      }
    }
    assert.equal(d.size, model.size)
    const want = keys.map((k) => model.get(canon(k)))
    assert.deepEqual(keys.map((k) => d.get(k)), want)
    assert.deepEqual(keys.map((k) => d.get(BigInt(k))), want)
    assert.deepEqual(keys.map((k) => twin.get(k)), want)
    assert.deepEqual(d.getMany(keys), want)
    // Absent keys alike in their low bits are absent (and stay absent).
    for (const k of [7 + 999 * 2 ** 32, 7 + 999 * 2048, 7n + 2n ** 40n * 3n]) {
      assert.equal(d.get(k), undefined)
      assert.equal(d.has(k), false)
    }
    assert.equal(d.size, model.size)
    d.close()
    twin.close()
  })

  test('empty cache entries never match: 0, -0 and 0n, in a fresh table and next to keys of index 0', () => {
    for (const opts of [{}, { k64: 0, k32: 1 }]) {
      const d = new AtomicDict(1000, opts)
      for (const key of [0, -0, 0n]) refusedEverywhere(d, key, RangeError)
      // Keys at other indices, then keys whose low bits are 0 (index 0) in
      // the cache of any size.
      d.add(1, 1n)
      d.add(3n, 1n)
      for (const key of [0, -0, 0n]) refusedEverywhere(d, key, RangeError)
      d.add(65536, 1n)
      d.add(2 ** 31, 1n)
      for (const key of [0, -0, 0n, [0], [-0], [0n]]) refusedEverywhere(d, key, RangeError)
      assert.equal(d.size, 4)
      const s = new AtomicSet(1000, opts)
      s.add(1)
      for (const key of [0, -0, 0n]) {
        assert.throws(() => s.add(key), RangeError)
        assert.throws(() => s.has(key), RangeError)
      }
      assert.equal(s.size, 1)
      d.close()
      s.close()
    }
  })

  test('64-bit: a cached key never answers for an invalid number next to it', () => {
    const d = new AtomicDict(64)
    d.store(2n ** 53n, 1n)
    d.store(2 ** 53 - 1, 2n)
    d.store(1, 3n)
    d.store(2 ** 32, 4n)
    d.store(2n ** 53n + 2n, 5n)
    for (const [key, Class] of [
      [2 ** 53, RangeError],
      [2 ** 53 + 2, RangeError],
      [2 ** 64, RangeError],
      [1 + 2 ** -52, RangeError],
      [2 ** 32 + 0.5, RangeError],
      [0, RangeError],
      [-0, RangeError],
      [-1, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [0n, RangeError],
      [2n ** 64n, RangeError],
      [2n ** 64n + 1n, RangeError],
      [-(2n ** 64n) + 1n, RangeError],
      ['\uDC00', TypeError],
      [Object(1), TypeError],
      [[1, 1], RangeError],
      [[], RangeError],
    ]) {
      refusedEverywhere(d, key, Class)
    }
    assert.deepEqual([d.get(2n ** 53n), d.get(2 ** 53 - 1), d.get(1n), d.get(2n ** 32n), d.get(2n ** 53n + 2n)], [1n, 2n, 3n, 4n, 5n])
    assert.equal(d.size, 5)
    d.close()
  })

  test('32-bit: 2^32 and strings are refused next to cached keys; number and bigint one key', () => {
    const d = new AtomicDict(1000, { k64: 0, k32: 1 })
    const twin = AtomicDict.attach(d.share())
    const keys = []
    for (let j = 0; j < 200; j++) keys.push(5 + j * 65536)
    keys.push(2 ** 32 - 1, 2 ** 31, 1)
    keys.forEach((k, i) => d.add(k, BigInt(i + 1)))
    keys.forEach((k, i) => d.add(BigInt(k), BigInt(i + 1)))
    const want = keys.map((_, i) => BigInt(2 * (i + 1)))
    assert.deepEqual(keys.map((k) => d.get(k)), want)
    assert.deepEqual(keys.map((k) => d.get([BigInt(k)])), want)
    assert.deepEqual(keys.map((k) => twin.get(k)), want)
    assert.deepEqual(d.getMany(keys), want)
    for (const [key, Class] of [
      [5 + 2 ** 32, RangeError],
      [5n + 2n ** 32n, RangeError],
      [2 ** 32, RangeError],
      [2n ** 32n, RangeError],
      [2 ** 32 + 1, RangeError],
      [5.5, RangeError],
      [-5, RangeError],
      ['5', TypeError],
      ['a', TypeError],
      [[5, 5], RangeError],
      [[5 + 2 ** 32], RangeError],
      [['5'], TypeError],
    ]) {
      refusedEverywhere(d, key, Class)
    }
    assert.equal(d.size, keys.length)
    d.close()
    twin.close()
  })

  test('strings: "5" is not 5, a string is its stringKey, and more strings than the cache holds', () => {
    const d = new AtomicDict(16)
    d.add('5', 1n)
    d.add(5, 10n)
    d.add(5n, 10n)
    assert.deepEqual([d.get('5'), d.get(5), d.get(stringKey('5')), d.size], [1n, 20n, 1n, 2])
    d.add(stringKey('5'), 1n)
    assert.equal(d.get('5'), 2n)
    assert.deepEqual([...d.keys()].sort(), [5n, stringKey('5')].sort())
    d.close()
    // A small table's caches hold few entries: many more strings than that, again and again.
    const big = new AtomicDict(2000)
    const twin = AtomicDict.attach(big.share())
    const strings = Array.from({ length: 1500 }, (_, i) => (i % 2 ? `key:${i}` : `ключ-${i}-😀`))
    for (let round = 0; round < 3; round++) strings.forEach((s, i) => big.add(s, BigInt(i)))
    const want = strings.map((_, i) => BigInt(3 * i))
    assert.deepEqual(strings.map((s) => big.get(s)), want)
    assert.deepEqual(strings.map((s) => twin.get(stringKey(s))), want)
    assert.deepEqual(big.getMany(strings), want)
    big.close()
    twin.close()
  })
})

// ------------------------------------------------------ another process

test('keys inserted by another process are found, after this process looked them up absent', async () => {
  const one = new AtomicDict(256)
  const comp = new AtomicDict(256, { k64: 1, k32: 1 })
  const narrow = new AtomicDict(256, { k64: 0, k32: 1 })
  const set = new AtomicSet(256, { k64: 1, k32: 1 })
  const theirs = {
    one: [1, 2n, 2 ** 40 + 1, 2n ** 63n, 'child-a', 'child-b', 7 + 2 ** 32],
    comp: [[1, 1], [1n, 2], ['x', 3], [2n ** 64n - 1n, 2 ** 32 - 1], [7 + 2 ** 32, 9]],
    narrow: [1, 2n, 7 + 65536, 2 ** 32 - 1],
    set: [[1, 1], ['s', 2], [3n, 3]],
  }
  const mine = { one: [3n, 'parent'], comp: [[3n, 3]], narrow: [3], set: [[4n, 4]] }
  const tables = { one, comp, narrow, set }
  for (const [name, keys] of Object.entries(theirs)) {
    const t = tables[name]
    for (const k of keys) {
      // Every lookup form, twice: nothing absent may be cached.
      for (let i = 0; i < 2; i++) {
        if (t instanceof AtomicSet) assert.equal(t.has(k), false)
        else {
          assert.equal(t.get(k), undefined)
          assert.equal(t.has(k), false)
          assert.equal(t.load(k), 0n)
        }
      }
    }
    // Keys near them cached here.
    for (const k of mine[name]) {
      if (t instanceof AtomicSet) t.add(k)
      else t.add(k, 100n)
    }
  }
  const c = forked(
    CHILD,
    {
      insert: Object.fromEntries(Object.entries(theirs).map(([n, keys]) => [n, keys.map(encode)])),
      read: Object.fromEntries(Object.entries(mine).map(([n, keys]) => [n, keys.map(encode)])),
    },
    tables,
  )
  const { read } = await c.next((m) => m.read)
  assert.deepEqual((await c.exited).code, 0)
  assert.deepEqual(read, { one: ['100', '100'], comp: ['100'], narrow: ['100'], set: [true] })
  for (const [name, keys] of Object.entries(theirs)) {
    const t = tables[name]
    keys.forEach((k, i) => {
      if (t instanceof AtomicSet) {
        assert.equal(t.has(k), true, `${name} ${show(k)}`)
        assert.equal(t.add(k), false)
      } else {
        assert.equal(t.get(k), BigInt(i + 1), `${name} ${show(k)}`)
        assert.equal(t.add(k, 1n), BigInt(i + 1))
      }
    })
    assert.equal(t.size, keys.length + mine[name].length)
    assert.equal(t.verify().ok, true)
  }
  for (const t of Object.values(tables)) t.close()
})

// ---------------------------------------------------------------- close

describe('after close()', () => {
  /** Every method of a dict (and what a closed one must do: throw, or reject). */
  function dictCalls(d, k) {
    return {
      add: () => d.add(k, 1n),
      sub: () => d.sub(k, 1n),
      and: () => d.and(k, 1n),
      or: () => d.or(k, 1n),
      xor: () => d.xor(k, 1n),
      swap: () => d.swap(k, 1n),
      cas: () => d.cas(k, 0n, 1n),
      store: () => d.store(k, 1n),
      set: () => d.set(k, 1n),
      load: () => d.load(k),
      get: () => d.get(k),
      has: () => d.has(k),
      slot: () => d.slot(k),
      wait: () => d.wait(k, 1n, 0),
      notify: () => d.notify(k),
      getMany: () => d.getMany([k]),
      loadMany: () => d.loadMany([k]),
      addMany: () => d.addMany([k], 1n),
      storeMany: () => d.storeMany([k], 1n),
      size: () => d.size,
      keys: () => d.keys().next(),
      values: () => d.values().next(),
      entries: () => d.entries().next(),
      iterator: () => d[Symbol.iterator]().next(),
      spread: () => [...d],
      forEach: () => d.forEach(() => {}),
      verify: () => d.verify(),
      repairCounts: () => d.repairCounts(),
      share: () => d.share(),
    }
  }

  for (const [name, opts, k] of [
    ['one 64-bit part', {}, 5n],
    ['one 32-bit part, 32-bit values', { k64: 0, k32: 1, valueBits: 32 }, 5],
    ['k64=2, k32=1', { k64: 2, k32: 1 }, ['a', 2n, 3]],
  ]) {
    test(`${name}: every method throws ERR_ATOMIC_DICT_CLOSED, the cached key too; iterators started before close throw`, async () => {
      const d = new AtomicDict(2 * BATCH + 50, opts)
      const one = opts.valueBits === 32 ? 1 : 1n
      d.add(k, one) // cached
      for (let i = 1; i <= 2 * BATCH; i++) d.add(Array.isArray(k) ? [i, 1n, 1] : i + 10, one)
      // Iterators mid-way through a batch, at a batch's end, and not started.
      const started = {
        'keys, mid-batch': d.keys(),
        'entries, at a batch end': d.entries(),
        'values, not started': d.values(),
        'iterator, second batch': d[Symbol.iterator](),
      }
      started['keys, mid-batch'].next()
      for (let i = 0; i < BATCH; i++) started['entries, at a batch end'].next()
      for (let i = 0; i < BATCH + 3; i++) started['iterator, second batch'].next()
      // An iterator stopped by a forEach callback that closes the table.
      let visited = 0
      assert.throws(
        () =>
          d.forEach(() => {
            visited++
            if (visited === 3) d.close()
          }),
        { code: CLOSED },
      )
      assert.equal(visited, 3)
      d.close()
      for (const [method, call] of Object.entries({ ...dictCalls(d, Array.isArray(k) ? [...k] : k), ...started })) {
        const run = typeof call === 'function' ? call : () => call.next()
        assert.throws(run, (e) => {
          assert.equal(e.code, CLOSED, `${method}: ${e.constructor.name}: ${e.message}`)
          return true
        })
      }
      await assert.rejects(d.waitAsync(k, 1n, 0), { code: CLOSED })
    })
  }

  test('a set: every method throws ERR_ATOMIC_DICT_CLOSED; iterators started before close throw', () => {
    const s = new AtomicSet(2 * BATCH, { k64: 1, k32: 1 })
    for (let i = 1; i <= 2 * BATCH; i++) s.add([i, i])
    const it = s.keys()
    it.next()
    const values = s.values()
    for (let i = 0; i < BATCH; i++) values.next()
    s.close()
    for (const [method, call] of Object.entries({
      add: () => s.add([1, 1]),
      addNew: () => s.add([999, 1]),
      has: () => s.has([1, 1]),
      addMany: () => s.addMany([[1, 1]]),
      size: () => s.size,
      keys: () => s.keys().next(),
      spread: () => [...s],
      entries: () => s.entries().next(),
      forEach: () => s.forEach(() => {}),
      verify: () => s.verify(),
      share: () => s.share(),
      'keys, started': () => it.next(),
      'values, at a batch end': () => values.next(),
    })) {
      assert.throws(call, (e) => {
        assert.equal(e.code, CLOSED, `${method}: ${e.constructor.name}: ${e.message}`)
        return true
      })
    }
  })

  test('an iterator that has handed out every key but not yet said done throws after close()', () => {
    // The small table's keys all come in the iterator's first batch; it has
    // not ended when the table is closed, so its next call must throw as
    // mid-batch ones do, not report the end.
    const d = new AtomicDict(8)
    d.add(1n, 1n)
    d.add(2n, 1n)
    const it = d.keys()
    it.next()
    it.next()
    const s = new AtomicSet(8)
    s.add(1n)
    const sit = s.keys()
    sit.next()
    d.close()
    s.close()
    assert.throws(() => it.next(), { code: CLOSED })
    assert.throws(() => sit.next(), { code: CLOSED })
  })

  test('a key whose getter closes the table during a cached lookup: ERR_ATOMIC_DICT_CLOSED, nothing changed', () => {
    // The key [1n, 2] is cached; this array's getter closes the table while
    // the cache compares its parts, so the lookup hits. The call must not
    // answer (or fail with an internal error) from a table already closed.
    const got = {}
    for (const method of ['add', 'store', 'cas', 'get', 'load', 'has', 'slot', 'set.add', 'set.has']) {
      const isSet = method.startsWith('set.')
      const t = isSet ? new AtomicSet(8, { k64: 1, k32: 1 }) : new AtomicDict(8, { k64: 1, k32: 1 })
      const twin = (isSet ? AtomicSet : AtomicDict).attach(t.share())
      if (isSet) t.add([1n, 2])
      else t.add([1n, 2], 1n)
      const key = [1n, 2]
      Object.defineProperty(key, 1, { get: () => (t.close(), 2) })
      try {
        const r = isSet ? t[method.slice(4)](key) : method === 'cas' ? t.cas(key, 1n, 2n) : t[method](key, 5n)
        got[method] = `returned ${show(r)}`
      } catch (e) {
        got[method] = e.code ?? `${e.constructor.name}: ${e.message}`
      }
      if (!isSet) assert.equal(twin.get([1n, 2]), 1n, `${method} changed the value`)
      twin.close()
    }
    const want = Object.fromEntries(Object.keys(got).map((m) => [m, CLOSED]))
    assert.deepEqual(got, want)
  })
})

// ------------------------------------------------------------ iteration

describe('iteration', () => {
  const SHAPES = [
    { name: 'one 64-bit part', opts: {}, key: (i) => (i % 3 === 0 ? `s${i}` : i % 3 === 1 ? i : BigInt(i) * 2n ** 40n) },
    { name: 'one 32-bit part', opts: { k64: 0, k32: 1 }, key: (i) => (i % 2 ? i : BigInt(i) + 2n ** 31n) },
    { name: 'k64=2, k32=1', opts: { k64: 2, k32: 1 }, key: (i) => [i % 2 ? `r${i}` : BigInt(i), 2 ** 40 + i, (i % 5) + 1] },
    { name: 'k64=0, k32=2', opts: { k64: 0, k32: 2 }, key: (i) => [i, 2 ** 32 - i] },
  ]

  /** A key as iteration must hand it back: 64-bit parts bigint, 32-bit numbers, one part bare. */
  function expectedForm(opts, key) {
    const k64 = opts.k64 ?? 1
    const parts = (Array.isArray(key) ? key : [key]).map((p, i) => (i < k64 ? (typeof p === 'string' ? stringKey(p) : BigInt(p)) : Number(p)))
    return parts.length === 1 ? parts[0] : parts
  }

  for (const shape of SHAPES) {
    for (const [density, capacity, count] of [
      ['dense', 3 * BATCH + 7, 3 * BATCH + 7],
      ['sparse', 20_000, 40],
      ['one key', 1000, 1],
      ['empty', 64, 0],
    ]) {
      test(`${shape.name}, ${density}: exactly the inserted keys, in their documented forms`, () => {
        const d = new AtomicDict(capacity, { ...shape.opts, valueBits: 32 })
        const s = new AtomicSet(capacity, shape.opts)
        const keys = Array.from({ length: count }, (_, i) => shape.key(i + 1))
        keys.forEach((k, i) => d.store(k, i + 1))
        s.addMany(keys)
        const want = new Map(keys.map((k, i) => [canon(k), [expectedForm(shape.opts, k), i + 1]]))
        const seen = new Map()
        for (const [k, v] of d) {
          const c = canon(k)
          assert.ok(!seen.has(c), `${show(k)} twice`)
          assert.ok(want.has(c), `${show(k)} was never inserted`)
          assert.deepEqual(k, want.get(c)[0], 'the form of the key')
          assert.equal(v, want.get(c)[1])
          seen.set(c, v)
        }
        assert.equal(seen.size, count)
        const entries = [...d.entries()]
        assert.deepEqual([...d], entries)
        assert.deepEqual([...d.keys()], entries.map(([k]) => k))
        assert.deepEqual([...d.values()], entries.map(([, v]) => v))
        const each = []
        d.forEach(function (v, k, map) {
          assert.equal(map, d)
          assert.equal(this, s)
          each.push([k, v])
        }, s)
        assert.deepEqual(each, entries)
        // The set: the same keys in the same forms.
        const setKeys = [...s]
        assert.equal(setKeys.length, count)
        assert.deepEqual(new Set(setKeys.map(canon)), new Set(want.keys()))
        for (const k of setKeys) assert.deepEqual(k, want.get(canon(k))[0])
        assert.deepEqual([...s.entries()], setKeys.map((k) => [k, k]))
        assert.deepEqual([...s.values()], setKeys)
        const setEach = []
        s.forEach((a, b, set) => setEach.push([a, b, set === s]))
        assert.deepEqual(setEach, setKeys.map((k) => [k, k, true]))
        d.close()
        s.close()
      })
    }

    test(`${shape.name}: live — keys inserted while iterating are seen at most once (some are), values are read as they are reached`, () => {
      const N = 3 * BATCH
      const d = new AtomicDict(4 * N, shape.opts)
      const before = Array.from({ length: N }, (_, i) => shape.key(i + 1))
      const added = Array.from({ length: N }, (_, i) => shape.key(N + i + 1))
      d.addMany(before, 1n)
      const original = new Set(before.map(canon))
      const fresh = new Set(added.map(canon))
      const seen = new Set()
      let first = true
      let freshSeen = 0
      for (const [k, v] of d) {
        const c = canon(k)
        assert.ok(!seen.has(c), `${show(k)} twice`)
        seen.add(c)
        if (first) {
          first = false
          // Mid-iteration: every value changes, the table doubles.
          assert.equal(v, 1n)
          d.storeMany(before, 2n)
          d.addMany(added, 3n)
          continue
        }
        if (original.has(c)) assert.equal(v, 2n, `${show(k)}: the value as it is now`)
        else {
          assert.ok(fresh.has(c), `${show(k)} was never inserted`)
          assert.equal(v, 3n)
          freshSeen++
        }
      }
      for (const c of original) assert.ok(seen.has(c), `${c} (there all along) was not seen`)
      assert.ok(freshSeen > 0, 'no key inserted during the iteration was seen: not live')
      // A set, the same way.
      const s = new AtomicSet(4 * N, shape.opts)
      s.addMany(before)
      const setSeen = new Set()
      let inserted = false
      for (const k of s) {
        const c = canon(k)
        assert.ok(!setSeen.has(c), `${show(k)} twice`)
        setSeen.add(c)
        if (!inserted) {
          inserted = true
          for (const a of added) s.add(a)
        }
      }
      for (const c of original) assert.ok(setSeen.has(c))
      assert.ok(setSeen.size > N, 'the set iteration saw none of the keys added while it ran')
      d.close()
      s.close()
    })
  }
})
