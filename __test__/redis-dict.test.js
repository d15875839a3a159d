'use strict'
// RedisDict against a real redis-server (Debian's), started here on a free
// loopback port in a temporary directory and stopped by pid afterwards:
// wrapping, exactness past 2^53, signed and 32-bit tables, composite keys,
// the capacity limit, argument checks before any round trip, and a seeded
// random run whose every result must equal a local AtomicDict's.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Redis = require('ioredis')
const { AtomicDict } = require('..')
const { RedisDict } = require('atomic-dict/redis')
const { startRedis } = require('./fixtures/redis')

const M64 = 2n ** 64n
/** { ok: value } or { code } for an operation that may throw or reject. */
async function outcome(fn) {
  try {
    return { ok: await fn() }
  } catch (err) {
    return { code: err.code, name: err.constructor.name }
  }
}

describe('RedisDict', () => {
  let server
  let client
  let n = 0
  const fresh = (opts) => new RedisDict(client, `t${n++}`, opts)

  before(async () => {
    server = await startRedis()
    client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
    await client.connect()
  })

  after(async () => {
    try {
      if (client !== undefined) client.disconnect()
    } finally {
      await server?.stop()
    }
  })

  test('64-bit values wrap at 2^64 both ways', async () => {
    const d = fresh({ capacity: 10 })
    assert.equal(await d.add(1n, M64 - 1n), 0n)
    assert.equal(await d.add(1n, 1n), M64 - 1n)
    assert.equal(await d.load(1n), 0n)
    assert.equal(await d.sub(2n), 0n)
    assert.equal(await d.load(2n), M64 - 1n)
    assert.equal(await d.sub(2n, M64 - 1n), M64 - 1n)
    assert.equal(await d.load(2n), 0n)
    assert.equal(await d.add(3n, -1n), 0n)
    assert.equal(await d.get(3n), M64 - 1n)
    assert.equal(await d.add(3n, 2), M64 - 1n)
    assert.equal(await d.get(3n), 1n)
  })

  test('values near 2^53 and 2^63 stay exact (doubles would round them)', async () => {
    const d = fresh({ capacity: 10 })
    const near53 = 2n ** 53n + 1n
    await d.store(1n, near53)
    assert.equal(await d.add(1n, 2n), near53)
    assert.equal(await d.load(1n), near53 + 2n)
    assert.equal(await d.swap(1n, 2n ** 63n - 1n), near53 + 2n)
    assert.equal(await d.add(1n), 2n ** 63n - 1n)
    assert.equal(await d.get(1n), 2n ** 63n)
    assert.equal(await d.cas(1n, 2n ** 63n + 1n, 7n), 2n ** 63n) // differs by 1: no swap
    assert.equal(await d.cas(1n, 2n ** 63n, M64 - 3n), 2n ** 63n)
    assert.equal(await d.xor(1n, 1n), M64 - 3n)
    assert.equal(await d.and(1n, 0xffff_ffff_0000_0001n), M64 - 4n)
    assert.equal(await d.or(1n, 0x1_0000_0003n), 0xffff_ffff_0000_0000n)
    assert.equal(await d.load(1n), 0xffff_ffff_0000_0003n)
  })

  test('signed 64-bit and 32-bit tables read as locally', async () => {
    const s = fresh({ capacity: 10, signed: true })
    assert.equal(await s.sub(1n), 0n)
    assert.equal(await s.load(1n), -1n)
    await s.store(2n, 2n ** 63n - 1n)
    assert.equal(await s.add(2n), 2n ** 63n - 1n)
    assert.equal(await s.load(2n), -(2n ** 63n))
    assert.equal(await s.cas(2n, M64 / 2n, 5n), -(2n ** 63n)) // 2^63 and -2^63 are the same bits
    assert.equal(await s.load(2n), 5n)

    const u32 = fresh({ capacity: 10, valueBits: 32 })
    assert.equal(await u32.sub(1n), 0)
    assert.equal(await u32.load(1n), 0xffff_ffff)
    assert.equal(await u32.add(1n, 2), 0xffff_ffff)
    assert.equal(await u32.load(1n), 1)
    assert.equal(await u32.get(9n), undefined)
    assert.equal(await u32.load(9n), 0)

    const i32 = fresh({ capacity: 10, valueBits: 32, signed: true })
    assert.equal(await i32.add(1n, 0x7fff_ffff), 0)
    assert.equal(await i32.add(1n, 1), 0x7fff_ffff)
    assert.equal(await i32.load(1n), -0x8000_0000)
    assert.equal(await i32.xor(1n, -1), -0x8000_0000)
    assert.equal(await i32.load(1n), 0x7fff_ffff)
  })

  test('composite and string keys', async () => {
    const d = fresh({ capacity: 10, k64: 2, k32: 1 })
    await d.add([1n, 2n, 3], 5n)
    await d.add([1n, 'job:7', 3], 6n)
    assert.equal(await d.get([1n, 2n, 3]), 5n)
    assert.equal(await d.get([1, 2, 3n]), 5n)
    assert.equal(await d.get([2n, 1n, 3]), undefined)
    assert.equal(await d.get([1n, 'job:7', 3]), 6n)
    assert.equal(await d.has([1n, 2n, 4]), false)
    assert.equal(await d.size(), 2)

    const one = fresh({ capacity: 10 })
    await one.cas('job:7', 0n, 1n)
    assert.equal(await one.get('job:7'), 1n)
  })

  test('ERR_ATOMIC_DICT_FULL at exactly capacity keys, changing nothing', async () => {
    const d = fresh({ capacity: 3 })
    for (const k of [1n, 2n, 3n]) await d.add(k, 10n)
    for (const op of [() => d.add(4n), () => d.store(4n, 1n), () => d.cas(4n, 0n, 1n), () => d.swap(4n, 1n), () => d.or(4n, 1n)]) {
      await assert.rejects(op(), (err) => err.code === 'ERR_ATOMIC_DICT_FULL' && err.capacity === 3 && err.name === 'AtomicDictFullError')
    }
    assert.equal(await d.size(), 3)
    assert.equal(await d.has(4n), false)
    assert.equal(await d.add(3n), 10n) // present keys still change
    assert.deepEqual(await Promise.all([1n, 2n, 3n].map((k) => d.load(k))), [10n, 10n, 11n])
  })

  test('concurrent inserts stop exactly at capacity', async () => {
    const d = fresh({ capacity: 50 })
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => outcome(() => d.add(BigInt(i + 1)))))
    assert.equal(results.filter((r) => 'ok' in r).length, 50)
    assert.ok(results.every((r) => 'ok' in r || r.code === 'ERR_ATOMIC_DICT_FULL'))
    assert.equal(await d.size(), 50)
  })

  test('bad keys and values reject with the local codes, before any round trip', async () => {
    const d = fresh({ capacity: 10, k64: 1, k32: 1 })
    await d.ready()
    const local = new AtomicDict(10, { k64: 1, k32: 1 })
    const calls = []
    const original = client.callBuffer
    client.callBuffer = function (...args) {
      calls.push(args[0])
      return original.apply(this, args)
    }
    try {
      const cases = [
        ['add', [[1n, 0], 1n]],
        ['add', [[0n, 1], 1n]],
        ['add', [[1n, 2 ** 32], 1n]],
        ['add', [1n, 1n]],
        ['add', [[1n, 1, 1], 1n]],
        ['add', [[1n, 1], M64]],
        ['sub', [[1n, 1], -(2n ** 63n) - 1n]],
        ['add', [[1n, 1], 2 ** 53]],
        ['add', [[1n, 1], '1']],
        ['store', [[1n, 1], 1.5]],
        ['cas', [[1n, 1], 0n, null]],
        ['cas', [[1n, 1], 'x', 0n]],
        ['get', [['\ud800', 1]]],
        ['has', [[1n, -1]]],
        ['load', [[1n, 1.5]]],
      ]
      for (const [op, args] of cases) {
        const want = await outcome(() => local[op](...args))
        assert.ok('code' in want, `${op}(${args}) is an error locally`)
        const got = await outcome(() => d[op](...args))
        assert.deepEqual(got, want, `${op} ${String(args)}`)
      }
      assert.deepEqual(calls, [])
    } finally {
      client.callBuffer = original
      local.close?.()
    }
    assert.equal(await d.size(), 0)
  })

  test('a script flushed from the server is loaded again (NOSCRIPT, then EVAL)', async () => {
    const d = fresh({ capacity: 10 })
    assert.equal(await d.add(1n, 5n), 0n)
    await client.script('FLUSH')
    assert.equal(await d.add(1n, 5n), 5n)
    assert.equal(await d.add(1n, 5n), 10n)
    assert.equal(await d.load(1n), 15n)
  })

  test('options are checked as locally, and attach checks the geometry', async () => {
    assert.throws(() => new RedisDict(client, 'x', { capacity: 0 }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => new RedisDict(client, 'x', {}), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => new RedisDict(client, 'x', { capacity: 1, valuebits: 32 }), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.throws(() => new RedisDict(client, 'x', { capacity: 1, k64: 9 }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => new RedisDict(client, 'a{b}', { capacity: 1 }), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.throws(() => new RedisDict({}, 'x', { capacity: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
    const a = new RedisDict(client, 'geo', { capacity: 5 })
    await a.add(1n)
    const b = new RedisDict(client, 'geo', { capacity: 5, signed: true })
    await assert.rejects(b.add(1n), { code: 'ERR_ATOMIC_DICT_GEOMETRY' })
    const c = new RedisDict(client, 'geo', { capacity: 5 })
    assert.equal(await c.load(1n), 1n)
  })

  test('a seeded random run gives the local AtomicDict\'s results', async () => {
    const configs = [
      { capacity: 24 },
      { capacity: 24, signed: true },
      { capacity: 24, valueBits: 32 },
      { capacity: 24, valueBits: 32, signed: true, k64: 1, k32: 1 },
      { capacity: 24, k64: 2 },
    ]
    let seed = 0x2545f491
    const rand = (m) => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) % m
    }
    const pick = (xs) => xs[rand(xs.length)]
    const r64 = () => (BigInt(rand(2 ** 32)) << 32n) | BigInt(rand(2 ** 32))
    const values64 = () => pick([0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), M64 - 1n, 0xffff_ffffn, 0x1_0000_0000n, 7, -7, r64(), r64(), M64, 1.5])
    const values32 = () => pick([0, 1, -1, 0x7fff_ffff, -0x8000_0000, 0xffff_ffff, 2 ** 32, 3n, rand(2 ** 32), rand(2 ** 32), 'x'])
    let ops = 0
    const tally = new Map()
    for (const opts of configs) {
      const { capacity, ...shape } = opts
      const local = new AtomicDict(capacity, shape)
      const remote = fresh(opts)
      const k = (shape.k64 ?? 1) + (shape.k32 ?? 0)
      const part = (i) => (i < (shape.k64 ?? 1) ? pick([1n, 2n, 3n, 4n, 5n, 6n, M64 - 1n, 'a', 'b']) : pick([1, 2, 3, 0xffff_ffff]))
      const key = () => {
        if (rand(100) === 0) return 0n // a bad key
        const parts = Array.from({ length: k }, (_, i) => part(i))
        return k === 1 && rand(2) === 0 ? parts[0] : parts
      }
      const value = (opts.valueBits ?? 64) === 64 ? values64 : values32
      const steps = 400
      for (let i = 0; i < steps; i++, ops++) {
        const op = pick(['add', 'add', 'sub', 'and', 'or', 'xor', 'swap', 'cas', 'cas', 'store', 'load', 'get', 'has', 'size'])
        let args
        const kk = key()
        if (op === 'size') args = []
        else if (op === 'load' || op === 'get' || op === 'has') args = [kk]
        else if (op === 'cas') {
          const cur = (await outcome(() => local.load(kk))).ok // undefined for a bad key
          args = [kk, rand(2) === 0 && cur !== undefined ? cur : value(), value()]
        } else if ((op === 'add' || op === 'sub') && rand(4) === 0) args = [kk]
        else args = [kk, value()]
        const want = await outcome(() => (op === 'size' ? local.size : local[op](...args)))
        const got = await outcome(() => remote[op](...args))
        if ('code' in want || op === 'store') delete want.ok
        if (op === 'store') delete got.ok
        const what = want.code ?? 'ok'
        tally.set(what, (tally.get(what) ?? 0) + 1)
        assert.deepEqual(got, want, `${JSON.stringify(opts)} step ${i}: ${op}(${args.map(String).join(', ')})`)
      }
      assert.equal(await remote.size(), local.size)
    }
    assert.ok(ops >= 2000)
    // The run reaches the capacity and the argument checks, and mostly succeeds.
    assert.ok(tally.get('ERR_ATOMIC_DICT_FULL') > 0, JSON.stringify([...tally]))
    assert.ok(tally.get('ERR_OUT_OF_RANGE') > 0, JSON.stringify([...tally]))
    assert.ok(tally.get('ok') > 1200, JSON.stringify([...tally]))
  })
})
